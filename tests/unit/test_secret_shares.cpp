// M-of-N shares (core/secret_shares): the share line and file, the checksum
// that names a mistyped share's custodian, every subset, duplicates, and the
// file key store that makes its passphrase and writes the shares.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/secret_shares.hpp"
#include "hsm/file_key_store.hpp"
#include "temp_dir.hpp"

namespace meshca {
namespace {

const ShareCustody kCustody{3, {"security-officer-1", "security-officer-2", "security-officer-3", "auditor-1", "auditor-2"}};
constexpr const char* kPurpose = "passphrase for root key file keys/root.pem";

std::string line_of(const SecretShare& s) { return std::string(share_line(s.custodian, s.index, s.bytes).view()); }

// The message of the Error(key_store) `f` throws; fails the test otherwise.
template <class F>
std::string key_store_error(F f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::key_store) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return {};
}

// The shares at `picked` (positions in kCustody), read back as typed.
std::vector<SecretShare> typed(const SplitSecret& split, const std::vector<std::size_t>& picked) {
  std::vector<SecretShare> given;
  for (auto i : picked) {
    const auto& s = split.shares[i];
    given.push_back(read_share(s.custodian, s.index, line_of(s), given, ErrorKind::key_store, "typed"));
  }
  return given;
}

TEST(SecretShares, ShareLineIsNumberHexChecksum) {
  const SplitSecret split = split_secret(kCustody, SecureBuffer("correct horse battery staple"));
  ASSERT_EQ(split.shares.size(), 5u);
  for (unsigned i = 0; i < 5; ++i) {
    const auto& s = split.shares[i];
    EXPECT_EQ(s.index, i + 1);
    EXPECT_EQ(s.custodian, kCustody.custodians[i]);
    EXPECT_EQ(s.bytes.size(), 28u);  // a share is as long as the secret
    const std::string line = line_of(s);
    EXPECT_EQ(line.substr(0, 4), "00" + std::to_string(i + 1) + "-");
    EXPECT_EQ(line.size(), 4 + 56 + 1 + 8);
    EXPECT_EQ(split.fingerprints[i].sha256, sha256_hex(line));
    EXPECT_EQ(split.fingerprints[i].custodian, s.custodian);
  }
  EXPECT_EQ(split.secret.view(), "correct horse battery staple");
}

TEST(SecretShares, EveryThreeSubsetRecoversAndEveryTwoSubsetIsRefused) {
  const SplitSecret split = split_secret(kCustody, SecureBuffer("correct horse battery staple"));
  int recovered = 0;
  int refused = 0;
  for (std::size_t a = 0; a < 5; ++a) {
    for (std::size_t b = a + 1; b < 5; ++b) {
      const auto two = typed(split, {a, b});
      const std::string message = key_store_error([&] { combine_shares(kCustody, two, kPurpose, ErrorKind::key_store); });
      EXPECT_NE(message.find("needs the shares of 3 of its 5 custodians; 2 given (" + kCustody.custodians[a] + ", " +
                             kCustody.custodians[b] + ")"),
                std::string::npos)
          << message;
      ++refused;
      for (std::size_t c = b + 1; c < 5; ++c) {
        EXPECT_EQ(combine_shares(kCustody, typed(split, {c, a, b}), kPurpose, ErrorKind::key_store).view(), "correct horse battery staple");
        ++recovered;
      }
    }
  }
  EXPECT_EQ(refused, 10);
  EXPECT_EQ(recovered, 10);
  // More than the threshold recovers the same secret.
  EXPECT_EQ(combine_shares(kCustody, typed(split, {0, 1, 2, 3, 4}), kPurpose, ErrorKind::key_store).view(), "correct horse battery staple");
}

TEST(SecretShares, MistypedShareNamesItsCustodian) {
  const SplitSecret split = split_secret(kCustody, SecureBuffer("correct horse battery staple"));
  const auto& s = split.shares[3];
  std::string line = line_of(s);
  line[10] = line[10] == '0' ? '1' : '0';  // one hex digit of the share
  const std::string message = key_store_error([&] { read_share(s.custodian, s.index, line, {}, ErrorKind::key_store, "typed"); });
  EXPECT_NE(message.find("the share of custodian auditor-1 (typed) does not match its checksum"), std::string::npos) << message;
  EXPECT_EQ(message.find(line.substr(4, 56)), std::string::npos) << "the share is never repeated";

  const std::string garbage = key_store_error([&] { read_share(s.custodian, s.index, "hello", {}, ErrorKind::key_store, "typed"); });
  EXPECT_NE(garbage.find("auditor-1 (typed) is not a share line"), std::string::npos) << garbage;
  // Spaces and upper case are how people copy hex off paper: accepted.
  std::string spaced = line_of(s);
  std::transform(spaced.begin(), spaced.end(), spaced.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  spaced.insert(12, " ");
  EXPECT_TRUE(read_share(s.custodian, s.index, spaced, {}, ErrorKind::key_store, "typed").bytes.equals(s.bytes));
}

TEST(SecretShares, DuplicateAndAnotherCustodiansShareAreRefusedByName) {
  const SplitSecret split = split_secret(kCustody, SecureBuffer("correct horse battery staple"));
  const auto given = typed(split, {0});
  const std::string dup =
      key_store_error([&] { read_share("security-officer-2", 2, line_of(split.shares[0]), given, ErrorKind::key_store, "typed"); });
  EXPECT_NE(dup.find("the share of custodian security-officer-2 (typed) is the share already given for custodian "
                     "security-officer-1 (a duplicate)"),
            std::string::npos)
      << dup;
  const std::string other =
      key_store_error([&] { read_share("auditor-2", 5, line_of(split.shares[0]), {}, ErrorKind::key_store, "typed"); });
  EXPECT_NE(other.find("is share number 001, not custodian auditor-2's (005)"), std::string::npos) << other;
}

// A token whose PIN field is short gets a shorter secret (base64url, random).
TEST(SecretShares, CreatedSecretHasTheLengthAskedFor) {
  test::TempDir dir;
  for (std::size_t length : {12u, 16u, 31u, 32u, 64u}) {
    const std::string stem = "len" + std::to_string(length);
    SplitSecret split = create_shared_secret(kCustody, kPurpose, dir.path() / "shares", stem, ErrorKind::key_store, length);
    EXPECT_EQ(split.secret.size(), length);
    for (char c : split.secret.view()) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << length;
    EXPECT_EQ(combine_shares(kCustody, typed(split, {1, 3, 4}), kPurpose, ErrorKind::key_store).view(), split.secret.view());
    GatheredSecret g = gather_shared_secret(kCustody, kPurpose, dir.path() / "shares", stem, {}, ErrorKind::key_store);
    EXPECT_TRUE(g.secret.equals(split.secret));
    ASSERT_EQ(g.fingerprints.size(), 5u);
    EXPECT_EQ(g.fingerprints[2].sha256, split.fingerprints[2].sha256);
  }
}

TEST(SecretShares, FileKeyStoreWritesSharesAndOpensWithThreeOfThem) {
  test::TempDir dir;
  hsm::FileKeyRef ref{dir.path() / "keys" / "root.pem", SecretRef(kCustody)};
  hsm::KeyStoreContext ctx{dir.path(), {}};
  ctx.shares_dir = dir.path() / "shares";
  std::string facts;
  {
    auto store = hsm::open_file_key_store(ref, pki::KeyAlgorithm::ecdsa_p256, hsm::KeyPresence::create_if_missing, ctx);
    EXPECT_TRUE(store->generated());
    facts = store->facts_json();
  }
  std::vector<std::string> lines;
  for (const auto& c : kCustody.custodians) {
    const auto path = share_file_path(ctx.shares_dir, "root", c);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
    const std::string text = read_file(path);
    EXPECT_NE(text.find("custodian: " + c + "\n"), std::string::npos);
    const auto at = text.find("share: ");
    ASSERT_NE(at, std::string::npos);
    lines.push_back(text.substr(at + 7, text.find('\n', at) - at - 7));
    EXPECT_NE(facts.find(sha256_hex(lines.back())), std::string::npos) << "the transcript facts fingerprint each share";
    EXPECT_EQ(facts.find(lines.back()), std::string::npos) << "and never hold one";
  }
  // A second creation never replaces a share set.
  test::TempDir other;
  hsm::FileKeyRef again{other.path() / "root.pem", SecretRef(kCustody)};
  const std::string refused = [&] {
    try {
      hsm::open_file_key_store(again, pki::KeyAlgorithm::ecdsa_p256, hsm::KeyPresence::create_if_missing, ctx);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  }();
  EXPECT_NE(refused.find("already exists"), std::string::npos) << refused;

  // Use: typed at the prompt, one custodian at a time; the second is skipped.
  ctx.shares_dir.clear();
  std::vector<std::string> asked;
  ctx.prompt = [&](const std::string& purpose, bool confirm) {
    EXPECT_FALSE(confirm);
    asked.push_back(purpose);
    const std::size_t i = asked.size() - 1;
    return i == 1 ? SecureBuffer() : SecureBuffer(lines[i]);
  };
  auto store = hsm::open_file_key_store(ref, pki::KeyAlgorithm::ecdsa_p256, hsm::KeyPresence::must_exist, ctx);
  EXPECT_FALSE(store->generated());
  ASSERT_EQ(asked.size(), 4u) << "asks until three shares are in";
  EXPECT_EQ(asked[0].rfind("share of custodian security-officer-1 for the passphrase for root key file ", 0), 0u) << asked[0];
  EXPECT_NE(asked[3].find("auditor-1"), std::string::npos);
  EXPECT_NE(store->facts_json().find(R"("given_by":["security-officer-1","security-officer-3","auditor-1"])"), std::string::npos)
      << store->facts_json();
}

}  // namespace
}  // namespace meshca
