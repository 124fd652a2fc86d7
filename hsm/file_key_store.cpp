#include "hsm/file_key_store.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/secret_shares.hpp"

namespace meshca::hsm {
namespace {

class FileKeyStore final : public KeyStore {
 public:
  FileKeyStore(std::filesystem::path path, pki::PKeyPtr key, bool generated, std::string facts = "{}")
      : path_(std::move(path)),
        key_(std::move(key)),
        public_(pki::public_key_copy(key_.get())),
        generated_(generated),
        facts_(std::move(facts)) {}

  std::string description() const override {
    return "encrypted key file " + path_.string() + " (" + pki::describe_key(key_.get()) + ")";
  }
  pki::KeyAlgorithm algorithm() const override { return *pki::key_algorithm_of(key_.get()); }
  const EVP_PKEY* public_key() const override { return public_.get(); }
  EVP_PKEY* signing_key() override { return key_.get(); }
  bool generated() const override { return generated_; }
  std::string facts_json() const override { return facts_; }
  // A software key can be duplicated, so workers sign in parallel.
  pki::PKeyPtr worker_signing_key() override {
    pki::PKeyPtr copy(EVP_PKEY_dup(key_.get()));
    if (!copy) pki::throw_openssl("EVP_PKEY_dup");
    return copy;
  }

 private:
  std::filesystem::path path_;
  pki::PKeyPtr key_;
  pki::PKeyPtr public_;
  bool generated_;
  std::string facts_;
};

std::string purpose_for(const std::filesystem::path& path) { return "passphrase for root key file " + path.string(); }

// Share files are named after the key file: DIR/root-2026.CUSTODIAN.share,
// so the shares of a rotation's two roots can share a directory.
std::string share_stem(const std::filesystem::path& path) { return path.stem().string(); }

std::unique_ptr<KeyStore> load(const std::filesystem::path& path, const std::string& pem, const FileKeyRef& ref,
                               pki::KeyAlgorithm algorithm, const KeyStoreContext& ctx) {
  // A passphrase held as shares is gathered, every share checked, before
  // the key file is decrypted; the transcript names whose shares opened it.
  SecureBuffer passphrase;
  std::string facts = "{}";
  if (ref.passphrase.kind == SecretKind::shares) {
    GatheredSecret g =
        gather_shared_secret(ref.passphrase.shares, purpose_for(path), ctx.shares_dir, share_stem(path), ctx.prompt, ErrorKind::key_store);
    facts = nlohmann::json{{"passphrase_shares", gathered_share_facts(ref.passphrase.shares, g)}}.dump();
    passphrase = std::move(g.secret);
  } else {
    passphrase = resolve_secret(ref.passphrase, purpose_for(path), ctx.prompt, ctx.base_dir, ErrorKind::key_store);
  }
  auto key = pki::private_key_from_encrypted_pem(pem, passphrase, path.string());
  auto actual = pki::key_algorithm_of(key.get());
  if (actual != algorithm) {
    throw Error(ErrorKind::key_store,
                "key is " + pki::describe_key(key.get()) + " but the plan says " + std::string(pki::key_algorithm_name(algorithm)) +
                    "; fix root.key.algorithm or point root.key.file.path at the right key",
                path.string());
  }
  return std::make_unique<FileKeyStore>(path, std::move(key), false, std::move(facts));
}

std::unique_ptr<KeyStore> create(const std::filesystem::path& path, const FileKeyRef& ref, pki::KeyAlgorithm algorithm,
                                 const KeyStoreContext& ctx) {
  std::string facts = "{}";
  SecureBuffer passphrase;
  if (ref.passphrase.kind == SecretKind::shares) {
    // meshca makes the passphrase; its shares are written (every subset
    // test-combined) before the key exists, so no key is ever encrypted
    // under a passphrase its custodians could not recover.
    SplitSecret split =
        create_shared_secret(ref.passphrase.shares, purpose_for(path), ctx.shares_dir, share_stem(path), ErrorKind::key_store);
    facts = nlohmann::json{{"passphrase_shares", share_set_facts(ref.passphrase.shares, split.fingerprints)}}.dump();
    passphrase = std::move(split.secret);
  } else {
    passphrase = resolve_secret(ref.passphrase, "new " + purpose_for(path), ctx.prompt, ctx.base_dir, ErrorKind::key_store,
                                /*confirm_prompt=*/true);
  }
  if (passphrase.size() < kMinPassphraseLength) {
    throw Error(ErrorKind::key_store,
                "the passphrase for a new root key must be at least " + std::to_string(kMinPassphraseLength) + " characters",
                path.string());
  }
  auto key = pki::generate_key(algorithm);
  SecureBuffer pem = pki::private_key_to_encrypted_pem(key.get(), passphrase);
  if (path.has_parent_path()) ensure_directory(path.parent_path(), kPrivateDirMode);
  write_file_atomic(path, pem.view(), kPrivateFileMode, Replace::never);
  return std::make_unique<FileKeyStore>(path, std::move(key), true, std::move(facts));
}

}  // namespace

std::unique_ptr<KeyStore> open_file_key_store(const FileKeyRef& ref, pki::KeyAlgorithm algorithm, KeyPresence presence,
                                              const KeyStoreContext& ctx) {
  std::filesystem::path path = ref.path.is_relative() ? ctx.base_dir / ref.path : ref.path;
  // A run killed while creating the key leaves an (encrypted) temp copy.
  remove_stale_temp_files({path});
  std::optional<std::string> pem;
  try {
    pem = read_file_if_exists(path, 1024 * 1024);
  } catch (const Error& e) {
    throw Error(ErrorKind::key_store, "cannot read the root key file: " + e.message(), path.string());
  }
  if (pem) {
    auto store = load(path, *pem, ref, algorithm, ctx);
    cleanse(*pem);
    return store;
  }
  if (presence == KeyPresence::must_exist) {
    throw Error(ErrorKind::key_store, "root key file does not exist", path.string());
  }
  return create(path, ref, algorithm, ctx);
}

}  // namespace meshca::hsm
