#include "ceremony/expiry_metrics.hpp"

#include <vector>

namespace meshca::ceremony {
namespace {

struct Family {
  const char* name;
  const char* help;
  bool seconds;
  UnixTime (*value)(const ExpiryItem&);
};

UnixTime end_of(const ExpiryItem& i) { return i.end; }
UnixTime due_by_of(const ExpiryItem& i) { return i.due_by; }
UnixTime due_of(const ExpiryItem& i) { return i.status == ExpiryStatus::ok ? 0 : 1; }

// Certificates and CRLs each have their three families.
constexpr Family kCertificateFamilies[] = {
    {"meshca_certificate_not_after_seconds", "notAfter of a CA certificate, seconds since the epoch.", true, end_of},
    {"meshca_certificate_renew_by_seconds",
     "When the certificate must be renewed (an intermediate) or rotated (a root), seconds since the epoch (meshca's renewal rule).", true,
     due_by_of},
    {"meshca_certificate_due", "1 when the certificate is past its renew-by date, expires within the check's window, or has expired.",
     false, due_of},
};
constexpr Family kCrlFamilies[] = {
    {"meshca_crl_next_update_seconds",
     "nextUpdate of a CRL, seconds since the epoch: peers checking CRLs refuse every certificate after it.", true, end_of},
    {"meshca_crl_refresh_by_seconds", "When the CRL must be reissued (meshca crl refresh), seconds since the epoch.", true, due_by_of},
    {"meshca_crl_due", "1 when the CRL is past its refresh-by date or stale.", false, due_of},
};

void metric_metadata(std::string& out, const char* name, const char* help, bool seconds) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" gauge\n");
  if (seconds) out.append("# UNIT ").append(name).append(" seconds\n");
}

std::string metric_labels(const ExpiryItem& item) {
  const std::pair<const char*, const std::string*> pairs[] = {{"mesh", &item.mesh},
                                                              {"cluster", &item.cluster},
                                                              {"serial", &item.serial},
                                                              {"fingerprint", &item.fingerprint},
                                                              {"subject", &item.subject}};
  std::string out = "{role=\"" + std::string(expiry_role_name(item.role)) + "\"";
  for (const auto& [name, value] : pairs) out.append(",").append(name).append("=\"").append(escape_label_value(*value)).append("\"");
  return out + "}";
}

void write_family(std::string& out, const Family& f, const ExpiryReport& report, bool crls) {
  std::vector<const ExpiryItem*> items;
  for (const auto& item : report.items)
    if ((item.role == ExpiryRole::crl) == crls) items.push_back(&item);
  if (items.empty()) return;
  metric_metadata(out, f.name, f.help, f.seconds);
  for (const ExpiryItem* item : items)
    out.append(f.name).append(metric_labels(*item)).append(" ").append(std::to_string(f.value(*item))).append("\n");
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string expiry_openmetrics(const ExpiryReport& report) {
  std::string out;
  metric_metadata(out, "meshca_check_expiry_timestamp_seconds",
                  "When meshca check-expiry judged these certificates, seconds since the epoch.", true);
  out.append("meshca_check_expiry_timestamp_seconds ").append(std::to_string(report.at)).append("\n");
  for (const auto& f : kCertificateFamilies) write_family(out, f, report, false);
  for (const auto& f : kCrlFamilies) write_family(out, f, report, true);
  out += "# EOF\n";
  return out;
}

}  // namespace meshca::ceremony
