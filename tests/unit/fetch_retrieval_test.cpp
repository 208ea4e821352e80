// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// fetch/retrieval: the deadline of one message and the checks of a body against the size
// the server announced (issue 15, defects 5 and 6).

#include <catch2/catch.hpp>

#include "fetch/fetch.hpp"
#include "fetch/retrieval.hpp"

using namespace clamfetch;
using namespace clamfetch::fetch;

TEST_CASE("a message gets timeout + size / 10 KiB/s, rounded up", "[fetch][retrieval]") {
  CHECK(message_seconds(0, 300) == 300);
  CHECK(message_seconds(1, 300) == 301);
  CHECK(message_seconds(10240, 300) == 301);
  CHECK(message_seconds(10241, 300) == 302);
  CHECK(message_seconds(10 * 1024 * 1024, 60) == 60 + 1024);
  // The ceiling of one message (1 GiB) still fits: a bound of about 29 hours.
  CHECK(message_seconds(kMaxMessageBytes, 300) == 300 + 104858);
}

TEST_CASE("a message's deadline is never later than the poll's", "[fetch][retrieval]") {
  Deadline run = Deadline::after_ms(100);
  Deadline message = message_deadline(1 << 20, 300, run);
  CHECK(message.remaining_ms() <= 100);
  CHECK_FALSE(message.never());
  CHECK(message_deadline(0, 2, Deadline()).remaining_ms() > 1000);
  CHECK(message_deadline(0, 2, Deadline()).remaining_ms() <= 2000);
}

TEST_CASE("POP3: an empty body, or one under half of LIST, is refused", "[fetch][retrieval]") {
  CHECK(pop3_body_problem(2000, 0) == "server announced 2000 octets (LIST) but sent an empty body");
  CHECK(pop3_body_problem(0, 0) == "server announced 0 octets (LIST) but sent an empty body");
  CHECK(pop3_body_problem(2000, 999) == "server announced 2000 octets (LIST) but sent only 999");
  CHECK(pop3_body_problem(3, 1) == "server announced 3 octets (LIST) but sent only 1");
  // Loose sizes of real servers pass: half, a little less or more than announced, or a
  // size LIST gave as 0.
  CHECK(pop3_body_problem(2000, 1000).empty());
  CHECK(pop3_body_problem(3, 2).empty());
  CHECK(pop3_body_problem(2000, 1940).empty());
  CHECK(pop3_body_problem(2000, 2100).empty());
  CHECK(pop3_body_problem(0, 10).empty());
}

TEST_CASE("IMAP: an empty BODY[] or one not of RFC822.SIZE is refused", "[fetch][retrieval]") {
  CHECK(imap_body_problem(500, 0) ==
        "server announced RFC822.SIZE 500 but sent an empty BODY[] (NIL or {0})");
  CHECK(imap_body_problem(0, 0) ==
        "server announced RFC822.SIZE 0 but sent an empty BODY[] (NIL or {0})");
  CHECK(imap_body_problem(500, 499) ==
        "server announced RFC822.SIZE 500 but sent a BODY[] of 499 octets");
  CHECK(imap_body_problem(500, 501) ==
        "server announced RFC822.SIZE 500 but sent a BODY[] of 501 octets");
  CHECK(imap_body_problem(500, 500).empty());
}

TEST_CASE("the errors say how far they reach and name account and UID", "[fetch][retrieval]") {
  Error body = body_error("u@h", "INBOX", "7", "server announced 5 octets (LIST) but sent an empty body");
  CHECK(body.kind == Kind::protocol);
  CHECK(body.scope == Scope::message);
  CHECK(exit_code(body.kind) == 4);
  CHECK(body.text == "u@h: message UID 7 of INBOX: server announced 5 octets (LIST) but sent "
                     "an empty body: not delivered, left on the server");

  Error slow = deadline_error("u@h", Deadline(), "7", 20480, 2);
  CHECK(slow.kind == Kind::timeout);
  CHECK(slow.scope == Scope::account);
  CHECK(exit_code(slow.kind) == 7);
  CHECK(slow.text == "u@h: message UID 7 (20480 octets) not retrieved within 4 s (timeout + "
                     "size / 10 KiB/s): server too slow, session ended");
  Error run = deadline_error("u@h", Deadline::after_ms(0), "7", 20480, 2);
  CHECK(run.kind == Kind::timeout);
  CHECK(run.text == "u@h: poll ended by run_timeout while retrieving message UID 7 (nothing "
                    "more is acknowledged in this run)");
}
