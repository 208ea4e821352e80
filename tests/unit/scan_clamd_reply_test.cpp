// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// clamd's INSTREAM replies mapped to verdicts. The real clamd test (integration) sees OK,
// FOUND and the size-limit ERROR; these are the replies a test clamd does not easily give.

#include <catch2/catch.hpp>

#include "scan/scanner_common.hpp"

using namespace clamfetch;
using scan::detail::parse_instream_reply;

TEST_CASE("clamd replies to verdicts") {
  CHECK(parse_instream_reply("stream: OK", 0.5).status == Verdict::Status::clean);
  CHECK(parse_instream_reply("stream: OK\n", 0).status == Verdict::Status::clean);

  Verdict found = parse_instream_reply("stream: Win.Test.EICAR_HDB-1 FOUND", 0.25);
  CHECK(found.status == Verdict::Status::infected);
  CHECK(found.virus == "Win.Test.EICAR_HDB-1");
  CHECK(found.seconds == 0.25);

  // clamd with AlertExceedsMax: a limit inside the message is not "infected" and not clean.
  Verdict limits = parse_instream_reply("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND", 0);
  CHECK(limits.status == Verdict::Status::limits);
  CHECK(limits.reason == "limits exceeded: Heuristics.Limits.Exceeded.MaxFileSize");

  Verdict error = parse_instream_reply("INSTREAM size limit exceeded. ERROR", 0);
  CHECK(error.status == Verdict::Status::error);
  CHECK(error.reason == "clamd: INSTREAM size limit exceeded. ERROR");

  Verdict odd = parse_instream_reply("UNKNOWN COMMAND", 0);
  CHECK(odd.status == Verdict::Status::error);
  CHECK(odd.reason == "clamd: unexpected reply 'UNKNOWN COMMAND'");
  CHECK(parse_instream_reply("stream:  FOUND", 0).status == Verdict::Status::error);
}
