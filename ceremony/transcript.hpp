// The ceremony transcript: OUT/transcript.jsonl, one JSON object per line,
// each carrying the SHA-256 of the line before it.
//
// A run appends a session: an opening record (plan digest, versions, key
// store, operator and witnesses), one record per step and per certificate,
// and a closing record. A session that completes records the SHA-256 of
// every file of OUT as it leaves it (`"manifest": "complete"`): what it
// wrote and what it kept or adopted, including bundles an earlier session
// published but never recorded because it was killed. A failed session
// records the files it wrote. Lines
// are fsynced as they are written, so an interrupted ceremony leaves a
// truthful, if unclosed, record. verify_transcript() recomputes the chain and
// reports an edited, deleted, inserted, reordered or truncated line by
// number; with OUT, every recorded file that changed or is missing and, once
// a complete manifest was recorded, every file of OUT no closed session
// recorded.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/files.hpp"

namespace meshca::ceremony {

inline constexpr const char* kTranscriptFile = "transcript.jsonl";

class TranscriptWriter {
 public:
  // Opens (or creates, 0644) the transcript and continues its chain.
  // Error(invalid_input) when the existing transcript does not verify:
  // a tampered record is never extended.
  explicit TranscriptWriter(const std::filesystem::path& path);
  ~TranscriptWriter();
  TranscriptWriter(const TranscriptWriter&) = delete;
  TranscriptWriter& operator=(const TranscriptWriter&) = delete;

  // Appends one record. With Sync::deferred the line reaches the disk at the
  // next synced record (batches of per-certificate records). With
  // `script_step`, the record carries the number of the ceremony script's
  // step it belongs to ("script_step", plan/ceremony_script.hpp); records of
  // sessions without a script, and every record of transcripts written
  // before step numbers existed, carry none.
  void record(const std::string& step, nlohmann::json details, Sync sync = Sync::now,
              std::optional<std::size_t> script_step = std::nullopt);
  // The SHA-256 of the last line: what witnesses write down.
  const std::string& head() const { return head_; }
  // {bytes, sha256} of a torn last line cut off when the transcript was
  // opened (a crash mid-append), or null.
  const nlohmann::json& torn_tail() const { return torn_tail_; }

 private:
  void cut_torn_tail();
  nlohmann::json torn_tail_;
  std::filesystem::path path_;
  int fd_ = -1;
  std::uint64_t next_seq_ = 1;
  std::string head_;
};

struct TranscriptProblem {
  std::size_t line = 0;  // 0: about the transcript as a whole
  std::string message;
};

// An output file whose content no longer matches the digest the transcript recorded.
struct RecordedFileProblem {
  std::string file;  // relative to OUT
  std::string message;
};

// A record stamped with a ceremony-script step number (TranscriptWriter::record),
// and the value it shows the witnesses: what their sheet leaves blank.
struct ScriptedRecord {
  std::size_t line = 0;
  std::size_t number = 0;  // the record's script_step
  std::string step;        // the record's name ("open", "intermediate", ...)
  std::string subject;     // "mesh/cluster" for a cluster's record
  std::string shows;       // "issued, sha256 AB:CD:...", "completed, head ..."
};

// One session's step sequence, in transcript order; `records` is empty for a
// session that was not scripted (rotate phases, revoke, crl refresh, root
// csr/import) or was written before records carried step numbers.
struct SessionSteps {
  std::size_t open_line = 0;
  std::string plan_digest;
  std::vector<ScriptedRecord> records;
};

struct TranscriptReport {
  std::size_t lines = 0;
  std::size_t sessions = 0;
  std::string head;                            // SHA-256 of the last line
  std::map<std::string, std::string> files;    // path -> digest OUT must hold, from closing records
  bool complete_manifest = false;              // a closing record listed every file of OUT
  std::vector<TranscriptProblem> problems;     // edits, removals, reorderings, damage: empty when the chain verifies
  std::vector<TranscriptProblem> interrupted;  // sessions cut short (crash, kill) and later resumed: a warning
  std::optional<TranscriptProblem> unclosed;   // the last session has no closing record
  std::vector<RecordedFileProblem> file_problems;
  // With FileScope::public_copy: recorded files holding private keys that
  // are absent, so their digests were not checked.
  std::vector<std::string> not_checked;
  std::vector<SessionSteps> session_steps;  // one per session, in order

  // The chain verifies and the last session was closed.
  bool complete() const { return problems.empty() && !unclosed; }
};

// Which files of OUT a check expects: all of them, or those of an auditor's
// public copy, from which every file holding a private key was removed
// (output_layout::holds_private_key); such a file may be absent, and is then
// reported as not checked instead of missing.
enum class FileScope { all, public_copy };

// Checks the chain; with `out_dir`, also recomputes every file digest and
// looks for files no session recorded.
TranscriptReport verify_transcript(const std::filesystem::path& path, const std::filesystem::path& out_dir = {},
                                   FileScope scope = FileScope::all);

// The files each closing record lists, in transcript order (its line
// number, file -> SHA-256): the bundles OUT held over time, so `meshca audit
// --deployed` tells a copy of an earlier bundle from one never recorded.
// The chain is not checked here (verify_transcript does that).
struct RecordedSession {
  std::size_t line = 0;
  std::map<std::string, std::string> files;
};
std::vector<RecordedSession> recorded_sessions(const std::filesystem::path& path);

// What a signing session that ran to its end leaves for the operator and
// the witnesses (what `rotate phases`, `revoke` and `crl refresh` print).
struct SessionRecord {
  std::size_t files_checksummed = 0;  // the files SHA256SUMS covers
  std::string plan_digest;            // of the plan approved and run
  std::string transcript_head;        // SHA-256 of the transcript's last line: what witnesses write down
};

}  // namespace meshca::ceremony
