// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// RFC 5322 address lists and the envelope sender rule (issue 16, point 3).

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "core/headers.hpp"

using namespace clamfetch::headers;
using List = std::vector<std::string>;

namespace {

std::string sender_of(const std::string& head) { return envelope_sender(head + "\r\nbody\r\n"); }

}  // namespace

TEST_CASE("mailboxes: display names, comments, quotes, angle brackets, routes, groups", "[core][address]") {
  CHECK(mailboxes("joe@example.net") == List{"joe@example.net"});
  CHECK(mailboxes("Joe Doe <joe@example.net>") == List{"joe@example.net"});
  CHECK(mailboxes("\"Doe, Joe\" <joe@example.net>, ann@example.org") ==
        List{"joe@example.net", "ann@example.org"});
  CHECK(mailboxes("joe@example.net (Joe (the) Doe)") == List{"joe@example.net"});
  CHECK(mailboxes("(c) joe (x) @ (y) example.net") == List{"joe@example.net"});
  CHECK(mailboxes("<@relay.example.com,@b.example.com:joe@example.net>") == List{"joe@example.net"});
  CHECK(mailboxes("team: a@example.net, \"B\" <b@example.net>;, c@example.net") ==
        List{"a@example.net", "b@example.net", "c@example.net"});
  CHECK(mailboxes("undisclosed-recipients:;").empty());
  CHECK(mailboxes("=?UTF-8?Q?J=C3=B6rg_M=C3=BCller?= <joerg@example.de>") == List{"joerg@example.de"});
  CHECK(mailboxes("\"joe\"@example.net") == List{"joe@example.net"});
  CHECK(mailboxes("\"joe q\\\"x\"@example.net") == List{"\"joe q\\\"x\"@example.net"});
  CHECK(mailboxes("joe@home <joe@example.net>") == List{"joe@example.net"});
  CHECK(mailboxes("<>") == List{""});
}

TEST_CASE("is_qualified: well-formed local@domain.tld only", "[core][address]") {
  CHECK(is_qualified("joe@example.net"));
  CHECK(is_qualified("j.o+e@mail.example.co.uk"));
  CHECK(is_qualified("\"joe q\"@example.net"));
  CHECK_FALSE(is_qualified("joe"));
  CHECK_FALSE(is_qualified("joe@localhost"));
  CHECK_FALSE(is_qualified("joe@[192.0.2.1]"));
  CHECK_FALSE(is_qualified("joe@192.0.2.1"));
  CHECK_FALSE(is_qualified("@example.net"));
  CHECK_FALSE(is_qualified("joe@-example.net"));
  CHECK_FALSE(is_qualified("joe@example..net"));
  CHECK_FALSE(is_qualified("jo e@example.net"));
  CHECK_FALSE(is_qualified(".joe@example.net"));
  CHECK_FALSE(is_qualified("j\xc3\xb6rg@example.de"));
  CHECK_FALSE(is_qualified("Joe Doe"));
  // Legal in a quoted local part, refused by the SMTP client in a path: never a sender.
  CHECK_FALSE(is_qualified("\"a<b\"@example.com"));
  CHECK_FALSE(is_qualified("\"a>b\"@example.com"));
}

TEST_CASE("return_path_sender: a qualified Return-Path only, never a header sender", "[core][address]") {
  auto rp = [](const std::string& head) {
    return clamfetch::headers::return_path_sender(head + "\r\nSubject: x\r\n\r\nbody\r\n");
  };
  CHECK(rp("Return-Path: <rp@example.net>\r\nFrom: f@example.org") == "rp@example.net");
  CHECK(rp("From: f@example.org") == "");
  CHECK(rp("Sender: s@example.org\r\nFrom: f@example.org") == "");
  CHECK(rp("Return-Path: <>\r\nFrom: f@example.org") == "");
  CHECK(rp("Return-Path: <joe>\r\nFrom: f@example.org") == "");
}

TEST_CASE("envelope sender: Return-Path first, <> there is a bounce", "[core][address]") {
  CHECK(sender_of("Return-Path: <rp@example.net>\r\nFrom: f@example.org") == "rp@example.net");
  CHECK(sender_of("Return-Path: <>\r\nFrom: f@example.org") == "");
  CHECK(sender_of("return-path:   < >\r\nFrom: f@example.org") == "");
  // A Return-Path that is no usable address does not make a bounce: the headers decide.
  CHECK(sender_of("Return-Path: <joe>\r\nFrom: f@example.org") == "f@example.org");
}

TEST_CASE("envelope sender: Resent-Sender, Sender, Resent-From, From in that order", "[core][address]") {
  std::string all = "From: f@example.org\r\nResent-From: rf@example.org\r\nSender: s@example.org\r\n"
                    "Resent-Sender: rs@example.org";
  CHECK(sender_of(all) == "rs@example.org");
  CHECK(sender_of("From: f@example.org\r\nResent-From: rf@example.org\r\nSender: s@example.org") ==
        "s@example.org");
  CHECK(sender_of("From: f@example.org\r\nResent-From: rf@example.org") == "rf@example.org");
  CHECK(sender_of("From: Joe <f@example.org>") == "f@example.org");
  // An unusable earlier header gives way to the next one.
  CHECK(sender_of("Sender: joe\r\nFrom: \"Doe, Joe\" <f@example.org>") == "f@example.org");
  CHECK(sender_of("From: nobody, =?utf-8?q?Ann?= <ann@example.org>") == "ann@example.org");
}

TEST_CASE("envelope sender: folded headers and groups", "[core][address]") {
  CHECK(sender_of("From: Joe\r\n Doe\r\n\t<f@example.org>") == "f@example.org");
  CHECK(sender_of("From: friends: a@example.org, b@example.org;") == "a@example.org");
}

TEST_CASE("envelope sender: no usable address, a bare name or a report keep <>", "[core][address]") {
  CHECK(sender_of("Subject: no sender at all") == "");
  CHECK(sender_of("From: joe") == "");  // never qualified with a host name of ours
  CHECK(sender_of("From: joe@localhost") == "");
  CHECK(sender_of("From: undisclosed:;") == "");
  CHECK(sender_of("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>") == "");
  CHECK(sender_of("From: postmaster@example.net\r\nContent-Type: multipart/report;\r\n"
                  " report-type=delivery-status; boundary=\"b\"") == "");
  CHECK(sender_of("From: ann@example.net\r\nContent-Type: multipart/mixed; boundary=b") ==
        "ann@example.net");
}

TEST_CASE("envelope sender: the header block only, bare LF too", "[core][address]") {
  CHECK(envelope_sender("Subject: x\n\nFrom: body@example.org\n") == "");
  CHECK(envelope_sender("From: lf@example.org\n\nbody\n") == "lf@example.org");
}
