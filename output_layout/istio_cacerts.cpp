#include "output_layout/istio_cacerts.hpp"

#include <openssl/evp.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/manifests.hpp"
#include "pki/certificate.hpp"
#include "pki/key.hpp"

namespace meshca::output_layout {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

IstioBundleFiles make_istio_bundle(const X509* ca_cert, const EVP_PKEY* ca_key, const std::vector<const X509*>& chain,
                                   const std::vector<const X509*>& roots) {
  IstioBundleFiles files;
  files.ca_cert = pki::certificate_to_pem(ca_cert);
  if (ca_key != nullptr) files.ca_key = pki::private_key_to_pkcs8_pem(ca_key);
  files.cert_chain = files.ca_cert;
  for (const X509* cert : chain) files.cert_chain += pki::certificate_to_pem(cert);
  for (const X509* root : roots) files.root_cert += pki::certificate_to_pem(root);
  return files;
}

SecureBuffer render_cacerts_secret(const IstioBundleFiles& files, const SecretManifestOptions& options) {
  ManifestData data{{kCaCertFile, files.ca_cert},
                    {kCaKeyFile, files.ca_key.view()},
                    {kCertChainFile, files.cert_chain},
                    {kRootCertFile, files.root_cert}};
  if (!files.ca_crl.empty()) data.emplace_back(kCaCrlFile, files.ca_crl);
  return render_secret("Istio plugged-in CA for this cluster. Contains a private key: keep it sealed.",
                       {options.name, options.namespace_name, options.labels, options.annotations}, "Opaque", data);
}

std::vector<std::string> missing_bundle_files(const std::filesystem::path& dir, bool expect_manifest) {
  std::vector<std::string> missing;
  std::vector<const char*> names{kCaCertFile, kCaKeyFile, kCertChainFile, kRootCertFile};
  if (expect_manifest) names.push_back(kSecretManifestFile);
  for (const char* name : names) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(std::filesystem::symlink_status(dir / name, ec))) missing.emplace_back(name);
  }
  return missing;
}

IstioBundle read_istio_bundle(const std::filesystem::path& dir) {
  IstioBundle bundle;
  auto read = [&](const char* name) { return read_file(dir / name, 1024 * 1024); };
  bundle.ca_cert = pki::certificate_from_pem(read(kCaCertFile), (dir / kCaCertFile).string());
  std::string key_pem = read(kCaKeyFile);
  bundle.ca_key = pki::private_key_from_pem(key_pem, (dir / kCaKeyFile).string());
  cleanse(key_pem);
  bundle.cert_chain = pki::certificates_from_pem(read(kCertChainFile), (dir / kCertChainFile).string());
  bundle.roots = pki::certificates_from_pem(read(kRootCertFile), (dir / kRootCertFile).string());
  std::error_code ec;
  bundle.has_manifest = std::filesystem::is_regular_file(dir / kSecretManifestFile, ec);
  return bundle;
}

}  // namespace meshca::output_layout
