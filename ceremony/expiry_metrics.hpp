// `meshca check-expiry --format openmetrics`: the expiry report as gauges
// for the node_exporter textfile collector (or any OpenMetrics scraper), so
// an alert fires before an intermediate, a root or a CRL runs out.
//
// Dates are gauges in seconds since the epoch (alert on
// `meshca_certificate_renew_by_seconds < time()`), and `*_due` is 1 for an
// item whose status is not OK (check_expiry's verdict, so the metric and the
// exit code agree). Each certificate and CRL carries the labels mesh,
// cluster, role, serial, fingerprint and subject (a CRL's issuer), escaped
// as the exposition formats require. The output ends with `# EOF`
// (OpenMetrics); the Prometheus text format that the textfile collector and
// `promtool check metrics` read takes that line, and `# UNIT`, as comments,
// so one rendering serves both.
#pragma once

#include <string>
#include <string_view>

#include "ceremony/expiry_check.hpp"

namespace meshca::ceremony {

std::string expiry_openmetrics(const ExpiryReport& report);

// A label value escaped for the exposition formats: backslash, double quote
// and newline.
std::string escape_label_value(std::string_view value);

}  // namespace meshca::ceremony
