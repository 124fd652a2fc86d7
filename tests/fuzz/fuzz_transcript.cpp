// Fuzzes the transcript verifier (ceremony::verify_transcript): any bytes in
// transcript.jsonl must yield problems by line number, never a crash.
#include <cstdint>

#include "ceremony/transcript.hpp"
#include "core/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace meshca;
  const auto path = fuzz::write_scratch_file("transcript.jsonl", data, size);
  try {
    auto report = ceremony::verify_transcript(path);
    (void)report;
  } catch (const Error&) {
  }
  return 0;
}
