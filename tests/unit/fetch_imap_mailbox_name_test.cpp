// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// Folder names on the IMAP wire: modified UTF-7 (RFC 3501 5.1.3), issue 16 point 1.

#include <catch2/catch.hpp>

#include "fetch/imap_internal.hpp"

using clamfetch::fetch::imap::mailbox_name;

TEST_CASE("IMAP folder names: UTF-8 goes out in modified UTF-7", "[fetch][imap]") {
  CHECK(mailbox_name("INBOX") == "INBOX");
  CHECK(mailbox_name("Sent Items") == "Sent Items");
  // RFC 3501's own example, and one with an '&' next to 8-bit text.
  CHECK(mailbox_name("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e") ==
        "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  CHECK(mailbox_name("Entw\xc3\xbcrfe") == "Entw&APw-rfe");
  CHECK(mailbox_name("R&D \xc3\xa9t\xc3\xa9") == "R&-D &AOk-t&AOk-");
  CHECK(mailbox_name("\xf0\x9f\x93\xa7") == "&2D3c5w-");  // outside the BMP: a surrogate pair
}

TEST_CASE("IMAP folder names: ASCII and invalid UTF-8 are left as they are", "[fetch][imap]") {
  CHECK(mailbox_name("Entw&APw-rfe") == "Entw&APw-rfe");  // already encoded (fetchmail rc)
  CHECK(mailbox_name("Q&-A") == "Q&-A");
}

TEST_CASE("IMAP folder names: an ASCII name that is no modified UTF-7 gets its '&' escaped", "[fetch][imap]") {
  CHECK(mailbox_name("Q&A") == "Q&-A");
  CHECK(mailbox_name("R&D") == "R&-D");
  CHECK(mailbox_name("tail&") == "tail&-");
  CHECK(mailbox_name("a&b c") == "a&-b c");  // a base64 run not closed by '-'
  CHECK(mailbox_name("bad \xc3") == "bad \xc3");
  CHECK(mailbox_name("bad \xc0\xaf") == "bad \xc0\xaf");  // overlong
}
