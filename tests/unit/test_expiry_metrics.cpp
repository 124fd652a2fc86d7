// check-expiry's OpenMetrics rendering (ceremony/expiry_metrics.hpp) and
// where an item serves (ceremony/expiry_check.hpp: expiry_location). The
// e2e test judges whole outputs with promtool and an OpenMetrics parser;
// these pin the escaping and the exact lines.
#include <gtest/gtest.h>

#include "ceremony/expiry_metrics.hpp"

namespace meshca::ceremony {
namespace {

TEST(ExpiryMetrics, LabelValuesAreEscapedAsTheExpositionFormatsRequire) {
  EXPECT_EQ(escape_label_value("O=Acme, CN=Root"), "O=Acme, CN=Root");
  EXPECT_EQ(escape_label_value("CN=\"quoted\""), "CN=\\\"quoted\\\"");
  EXPECT_EQ(escape_label_value("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_label_value("two\nlines"), "two\\nlines");
}

TEST(ExpiryMetrics, GaugesPerCertificateAndCrlWithLabelsAndEof) {
  ExpiryReport report;
  report.at = 1000;
  report.items.push_back({.role = ExpiryRole::intermediate,
                          .files = {"out/prod/east/ca-cert.pem"},
                          .subject = "CN=\"East\"",
                          .mesh = "prod",
                          .cluster = "east",
                          .serial = "0A",
                          .fingerprint = "AB:CD",
                          .end = 5000,
                          .due_by = 900,
                          .status = ExpiryStatus::renew,
                          .days_left = 0});
  report.items.push_back({.role = ExpiryRole::crl,
                          .files = {"out/root/root-crl.pem"},
                          .subject = "CN=Root",
                          .mesh = "",
                          .cluster = "",
                          .serial = "3",
                          .fingerprint = "EF:01",
                          .end = 3000,
                          .due_by = 2000,
                          .status = ExpiryStatus::ok,
                          .days_left = 0});
  const std::string text = expiry_openmetrics(report);
  const std::string east = R"({role="intermediate",mesh="prod",cluster="east",serial="0A",fingerprint="AB:CD",subject="CN=\"East\""})";
  const std::string crl = R"({role="crl",mesh="",cluster="",serial="3",fingerprint="EF:01",subject="CN=Root"})";
  EXPECT_NE(text.find("meshca_check_expiry_timestamp_seconds 1000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE meshca_certificate_not_after_seconds gauge\n# UNIT meshca_certificate_not_after_seconds seconds\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("meshca_certificate_not_after_seconds" + east + " 5000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("meshca_certificate_renew_by_seconds" + east + " 900\n"), std::string::npos) << text;
  EXPECT_NE(text.find("meshca_certificate_due" + east + " 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("meshca_crl_next_update_seconds" + crl + " 3000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("meshca_crl_refresh_by_seconds" + crl + " 2000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("meshca_crl_due" + crl + " 0\n"), std::string::npos) << text;
  // A CRL is never a certificate sample, and the text ends with # EOF.
  EXPECT_EQ(text.find("meshca_certificate_due{role=\"crl\""), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("\n# EOF\n")) << text;
}

TEST(ExpiryMetrics, FamiliesWithoutItemsAreLeftOut) {
  ExpiryReport report;
  report.at = 7;
  EXPECT_EQ(expiry_openmetrics(report),
            "# HELP meshca_check_expiry_timestamp_seconds When meshca check-expiry judged these certificates, seconds since the epoch.\n"
            "# TYPE meshca_check_expiry_timestamp_seconds gauge\n"
            "# UNIT meshca_check_expiry_timestamp_seconds seconds\n"
            "meshca_check_expiry_timestamp_seconds 7\n"
            "# EOF\n");
}

TEST(ExpiryLocation, MeshAndClusterFromBundleDirectoriesAndDeployedSecrets) {
  EXPECT_EQ(expiry_location("out/prod/east/ca-cert.pem"), (ExpiryLocation{"prod", "east"}));
  EXPECT_EQ(expiry_location("/srv/out/prod/east/cert-chain.pem"), (ExpiryLocation{"prod", "east"}));
  EXPECT_EQ(expiry_location("out/root/root-cert.pem"), ExpiryLocation{});
  EXPECT_EQ(expiry_location("deployed/prod/west.yaml:data.ca-cert.pem"), (ExpiryLocation{"prod", "west"}));
  EXPECT_EQ(expiry_location("deployed/dev/lab.yaml#istio-system/cacerts:stringData.ca-crl.pem"), (ExpiryLocation{"dev", "lab"}));
  // A bundle's own manifest names its directory.
  EXPECT_EQ(expiry_location("out/prod/east/cacerts.yaml:data.root-cert.pem"), (ExpiryLocation{"prod", "east"}));
}

}  // namespace
}  // namespace meshca::ceremony
