#include "ceremony/transcript.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/hex.hpp"
#include "core/secure_buffer.hpp"
#include "core/time.hpp"
#include "output_layout/checksums.hpp"
#include "output_layout/layouts.hpp"

namespace meshca::ceremony {
namespace {

const std::string kGenesis(64, '0');

void check_record(std::string_view line, std::size_t number, std::uint64_t expected_seq, const std::string& prev, TranscriptReport& report,
                  nlohmann::json& record) {
  auto problem = [&](const std::string& m) { report.problems.push_back({number, m}); };
  try {
    record = nlohmann::json::parse(line);
  } catch (const nlohmann::json::exception&) {
    problem("not a JSON object (edited or damaged)");
    return;
  }
  if (!record.is_object() || !record.contains("seq") || !record.contains("prev") || !record.contains("step")) {
    problem("missing seq, step or prev (edited)");
    return;
  }
  if (!record["prev"].is_string() || record["prev"].get<std::string>() != prev) {
    problem("does not chain to line " + std::to_string(number - 1) +
            ": that line was edited, or a line was removed or inserted before this one");
  }
  if (!record["seq"].is_number_unsigned() || record["seq"].get<std::uint64_t>() != expected_seq) {
    problem("sequence number " + record["seq"].dump() + " where " + std::to_string(expected_seq) +
            " was expected (lines removed, inserted or reordered)");
  }
}

// The file digests a closing record lists, into `files`.
void add_recorded_files(const nlohmann::json& details, std::map<std::string, std::string>& files) {
  if (!details.is_object() || !details.contains("files") || !details["files"].is_object()) return;
  for (const auto& [file, digest] : details["files"].items()) {
    if (digest.is_string()) files[file] = digest.get<std::string>();
  }
}

// What a scripted record shows the witnesses; `line_hash` is the SHA-256 of
// its own line (for the closing record: the head the witnesses write down).
std::string record_shows(const std::string& step, const nlohmann::json& details, const std::string& line_hash) {
  if (!details.is_object()) return "";
  auto text = [&](const char* key) { return details.contains(key) && details[key].is_string() ? details[key].get<std::string>() : ""; };
  auto certificate = [&] {
    const auto& c = details.contains("certificate") ? details["certificate"] : nlohmann::json();
    return text("action") + (c.is_object() && c.contains("sha256") ? ", sha256 " + c["sha256"].get<std::string>() : "");
  };
  if (step == "open") return "plan digest " + text("plan_digest");
  if (step == "confirm") return "confirmed: " + text("method");
  if (step == "root-key") return std::string(details.value("generated", false) ? "generated" : "loaded") + ", " + text("store");
  if (step == "root-certificate" || step == "intermediate") return certificate();
  if (step == "crl") return details.contains("number") ? "issued, number " + details["number"].dump() : text("action");
  if (step == "close") return text("outcome") + ", head " + line_hash;
  return "";
}

void note_scripted_record(const nlohmann::json& record, std::size_t line, const std::string& line_hash, TranscriptReport& report) {
  const std::string step = record["step"].is_string() ? record["step"].get<std::string>() : "";
  const auto& details = record.contains("details") ? record["details"] : nlohmann::json();
  if (step == "open") {
    report.session_steps.push_back({line, details.is_object() ? details.value("plan_digest", "") : "", {}});
  }
  if (report.session_steps.empty() || !record.contains("script_step") || !record["script_step"].is_number_unsigned()) return;
  std::string subject;
  if (step == "intermediate" && details.is_object()) subject = details.value("mesh", "") + "/" + details.value("cluster", "");
  report.session_steps.back().records.push_back(
      {line, record["script_step"].get<std::size_t>(), step, subject, record_shows(step, details, line_hash)});
}

// Every recorded file against OUT; with a complete manifest, every file of
// OUT against the record.
void check_recorded_files(const std::filesystem::path& out_dir, TranscriptReport& report, FileScope scope) {
  auto on_disk = output_layout::output_file_digests(out_dir);
  if (auto sums = read_file_if_exists(out_dir / output_layout::kChecksumsFile)) {
    on_disk[output_layout::kChecksumsFile] = sha256_hex(*sums);
  }
  for (const auto& [file, digest] : report.files) {
    auto actual = on_disk.find(file);
    if (actual == on_disk.end() && scope == FileScope::public_copy && output_layout::holds_private_key(file)) {
      report.not_checked.push_back(file);
    } else if (actual == on_disk.end()) {
      report.file_problems.push_back({file, "missing (recorded " + digest.substr(0, 16) + "...)"});
    } else if (actual->second != digest) {
      report.file_problems.push_back({file, "SHA-256 differs from the transcript (the file was changed)"});
    }
  }
  if (!report.complete_manifest) return;
  for (const auto& [file, digest] : on_disk) {
    if (!report.files.count(file)) {
      report.file_problems.push_back(
          {file, "no closed session recorded this file: it was added after the last session, or published by a session "
                 "that never closed (a re-run of that session checks and records it)"});
    }
  }
}

// What the writer needs before it extends a transcript: the chain intact,
// its length and its head. Every line is hashed and its own top-level
// `prev` and `seq` compared (meshca writes the keys sorted: `prev` after
// `details`, `seq` after `prev`) without parsing the line: an edit to any
// line but the last changes that line's hash and so breaks the next line's
// link, which is all a parse would add; the last line is parsed whole
// (check_record). The transcript gains a record per cluster per run, and
// parsing all of it on every run made each re-run slower than the last.
// nullopt when a line does not look as meshca writes it: the caller then
// asks the full verify_transcript(), which decides.
struct Chain {
  std::size_t lines = 0;
  std::string head = kGenesis;
};
std::optional<Chain> quick_chain(const std::filesystem::path& path) {
  Chain chain;
  bool linked = true;
  std::string last, before_last = kGenesis;
  for_each_line(path, [&](std::string_view line, bool terminated) {
    if (!linked) return;
    ++chain.lines;
    const std::string seq = "\"seq\":" + std::to_string(chain.lines) + ",";
    const auto prev_at = line.rfind("\"prev\":\"");
    linked = terminated && prev_at != std::string_view::npos && line.substr(prev_at + 8, 64) == chain.head &&
             line.substr(prev_at + 8 + 64, 2) == "\"," && line.find(seq, prev_at) != std::string_view::npos;
    before_last = chain.head;
    chain.head = sha256_hex(line);
    last.assign(line);
  });
  if (!linked) return std::nullopt;
  if (chain.lines > 0) {
    TranscriptReport report;
    nlohmann::json record;
    check_record(last, chain.lines, chain.lines, before_last, report, record);
    if (!report.problems.empty()) return std::nullopt;
  }
  return chain;
}

}  // namespace

TranscriptWriter::TranscriptWriter(const std::filesystem::path& path) : path_(path), head_(kGenesis) {
  std::error_code ec;
  // An empty file is a transcript whose first record was never appended (a
  // stop right after it was created): it starts afresh.
  if (std::filesystem::exists(path, ec) && std::filesystem::file_size(path, ec) > 0) {
    cut_torn_tail();
    std::optional<Chain> chain = quick_chain(path);
    if (!chain) {
      auto report = verify_transcript(path);
      // An unclosed last session is an interrupted run being resumed; only a
      // broken chain stops the ceremony.
      if (!report.problems.empty()) {
        const auto& p = report.problems.front();
        throw Error(ErrorKind::invalid_input,
                    "the existing transcript does not verify (line " + std::to_string(p.line) + ": " + p.message +
                        "); refusing to extend it — move it away and keep it as evidence",
                    path.string());
      }
      chain = Chain{report.lines, report.head};
    }
    next_seq_ = chain->lines + 1;
    head_ = chain->head;
  }
  fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw Error(ErrorKind::output, std::string("cannot open the transcript for appending: ") + std::strerror(errno), path.string());
  }
}

// A line is appended with one write(2) and fsynced, so a last line without
// its newline can only be an append torn by a crash (power loss, or a kill
// in an older version that wrote the newline separately). It is cut off,
// and what was cut is reported by torn_tail() for the next record, so the
// auditor sees it; the chain before it must still verify.
void TranscriptWriter::cut_torn_tail() {
  // Only the end of the file is read: back from the last byte to the last
  // newline.
  std::string tail;
  off_t keep = 0;
  {
    int rfd = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (rfd < 0) throw Error(ErrorKind::output, std::string("cannot read the transcript: ") + std::strerror(errno), path_.string());
    struct stat st {};
    bool ok = ::fstat(rfd, &st) == 0;
    off_t end = ok ? st.st_size : 0;
    char block[64 * 1024];
    while (ok && end > 0) {
      const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof block));
      const ssize_t n = ::pread(rfd, block, static_cast<std::size_t>(end - start), start);
      if (n != end - start) {
        ok = false;
        break;
      }
      std::string_view data(block, static_cast<std::size_t>(n));
      const auto newline = data.rfind('\n');
      if (newline != std::string_view::npos) {
        tail.insert(0, data.substr(newline + 1));
        keep = start + static_cast<off_t>(newline) + 1;
        break;
      }
      tail.insert(0, data);
      end = start;
    }
    const int err = errno;
    ::close(rfd);
    if (!ok) throw Error(ErrorKind::output, std::string("cannot read the transcript: ") + std::strerror(err), path_.string());
  }
  if (tail.empty()) return;
  int fd = ::open(path_.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  bool ok = fd >= 0 && ::ftruncate(fd, keep) == 0;
  if (ok) {
    durable_step("fsync", path_);
    ok = ::fsync(fd) == 0;
  }
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok) {
    throw Error(ErrorKind::output, std::string("cannot cut the torn last line of the transcript: ") + std::strerror(err), path_.string());
  }
  torn_tail_ = nlohmann::json{{"bytes", tail.size()}, {"sha256", sha256_hex(tail)}};
}

TranscriptWriter::~TranscriptWriter() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

void TranscriptWriter::record(const std::string& step, nlohmann::json details, Sync sync, std::optional<std::size_t> script_step) {
  nlohmann::json line = nlohmann::json::object();
  line["seq"] = next_seq_;
  line["time"] = format_rfc3339(now_utc());
  line["step"] = step;
  if (script_step) line["script_step"] = *script_step;
  line["details"] = std::move(details);
  line["prev"] = head_;
  std::string text = line.dump();
  const std::string head = sha256_hex(text);
  text.push_back('\n');  // the line and its newline in one write
  line = nullptr;  // a closing record can hold thousands of file digests: one copy at a time
  // A line is appended whole or not at all: a short write (full disk, size
  // limit) is cut back, so the chain stays verifiable and a re-run resumes.
  durable_step("transcript-append", path_);
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  {
    std::string_view rest(text);
    while (!rest.empty()) {
      ssize_t n = ::write(fd_, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int err = n < 0 ? errno : ENOSPC;
        if (before >= 0) (void)!::ftruncate(fd_, before);
        throw Error(ErrorKind::output, std::string("cannot append to the transcript: ") + std::strerror(err), path_.string());
      }
      rest.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  if (sync == Sync::now && ::fsync(fd_) != 0) {
    throw Error(ErrorKind::output, std::string("cannot sync the transcript: ") + std::strerror(errno), path_.string());
  }
  head_ = head;
  ++next_seq_;
}

TranscriptReport verify_transcript(const std::filesystem::path& path, const std::filesystem::path& out_dir, FileScope scope) {
  TranscriptReport report;
  std::string prev = kGenesis;
  bool open_session = false, cut_off = false;
  std::size_t open_line = 0;
  // Line by line: the transcript grows by a record per cluster per run.
  for_each_line(path, [&](std::string_view line, bool terminated) {
    const std::size_t i = report.lines++;
    cut_off = !terminated;
    nlohmann::json record;
    check_record(line, i + 1, i + 1, prev, report, record);
    prev = sha256_hex(line);
    if (!record.is_object() || !record.contains("step")) return;
    note_scripted_record(record, i + 1, prev, report);
    std::string step = record["step"].is_string() ? record["step"].get<std::string>() : "";
    if (step == "open") {
      if (open_session) {
        report.interrupted.push_back({open_line, "this session was interrupted (no closing record); the run at line " +
                                                     std::to_string(i + 1) + " resumed it"});
      }
      open_session = true;
      open_line = i + 1;
      ++report.sessions;
    } else if (step == "close") {
      open_session = false;
      // A complete manifest is the whole of OUT at that moment; a failed
      // session's list adds to what came before.
      const auto& details = record["details"];
      if (details.is_object() && details.contains("manifest") && details["manifest"] == "complete") {
        report.files.clear();
        report.complete_manifest = true;
      }
      add_recorded_files(record["details"], report.files);
    }
  });
  if (cut_off) {
    report.problems.insert(report.problems.begin(), {0, "the last line is cut off (no final newline): the transcript was truncated"});
  }
  if (report.lines == 0) report.problems.push_back({0, "the transcript is empty"});
  if (open_session) {
    report.unclosed = TranscriptProblem{open_line, "the session opened here has no closing record: the ceremony was interrupted (re-run it to resume) or the transcript truncated"};
  }
  report.head = prev;
  if (!out_dir.empty()) check_recorded_files(out_dir, report, scope);
  return report;
}

std::vector<RecordedSession> recorded_sessions(const std::filesystem::path& path) {
  std::vector<RecordedSession> sessions;
  std::size_t number = 0;
  for_each_line(path, [&](std::string_view line, bool) {
    ++number;
    auto record = nlohmann::json::parse(line, nullptr, false);
    if (!record.is_object() || !record.contains("step") || record["step"] != "close" || !record.contains("details")) return;
    RecordedSession session{.line = number, .files = {}};
    add_recorded_files(record["details"], session.files);
    sessions.push_back(std::move(session));
  });
  return sessions;
}

}  // namespace meshca::ceremony
