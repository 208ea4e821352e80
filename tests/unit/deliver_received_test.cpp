// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The RFC 5322 date and the Received header.

#include <catch2/catch.hpp>

#include <cstdlib>
#include <ctime>
#include <string>

#include "deliver/deliver.hpp"

using namespace clamfetch::deliver;

namespace {

// Sets TZ for the test's duration (POSIX zone strings need no tzdata).
class Zone {
 public:
  explicit Zone(const char* tz) {
    const char* old = std::getenv("TZ");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~Zone() {
    if (had_) ::setenv("TZ", old_.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
  }

 private:
  bool had_ = false;
  std::string old_;
};

ReceivedInfo info() {
  ReceivedInfo i;
  i.server = "pop.example.net";
  i.by_host = "mail.example.com";
  i.protocol = "POP3";
  i.version = "0.1.0";
  i.recipient = "virtualuser1@example.com";
  i.when = 0;
  return i;
}

}  // namespace

TEST_CASE("RFC 5322 dates in local time with a numeric zone", "[deliver][received]") {
  {
    Zone utc("UTC0");
    CHECK(rfc5322_date(0) == "Thu, 1 Jan 1970 00:00:00 +0000");
    CHECK(rfc5322_date(1795380300) == "Sun, 22 Nov 2026 20:45:00 +0000");
  }
  {
    Zone east("XST-5:30");
    CHECK(rfc5322_date(0) == "Thu, 1 Jan 1970 05:30:00 +0530");
  }
  {
    Zone west("YST+3");
    CHECK(rfc5322_date(0) == "Wed, 31 Dec 1969 21:00:00 -0300");
  }
}

TEST_CASE("Received header with CRLF for a CRLF message", "[deliver][received]") {
  Zone utc("UTC0");
  std::string out = add_received("Subject: x\r\n\r\nbody\r\n", info());
  CHECK(out ==
        "Received: from pop.example.net\r\n\tby mail.example.com with POP3 (clamfetch 0.1.0)\r\n"
        "\tfor <virtualuser1@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r\n"
        "Subject: x\r\n\r\nbody\r\n");
}

TEST_CASE("Received header with LF for an LF message", "[deliver][received]") {
  Zone utc("UTC0");
  std::string out = add_received("Subject: x\n\nbody\n", info());
  CHECK(out ==
        "Received: from pop.example.net\n\tby mail.example.com with POP3 (clamfetch 0.1.0)\n"
        "\tfor <virtualuser1@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\n"
        "Subject: x\n\nbody\n");
}

TEST_CASE("Received header values cannot break the header", "[deliver][received]") {
  ReceivedInfo i = info();
  i.server = "evil\r\nX-Injected: 1";
  i.recipient = "a@b\nBcc: c@d";
  std::string out = add_received("Subject: x\r\n\r\n", i);
  CHECK(out.find("\nX-Injected") == std::string::npos);
  CHECK(out.find("\nBcc") == std::string::npos);
  CHECK(out.rfind("Received: from evil X-Injected: 1\r\n", 0) == 0);
}

TEST_CASE("Received header names the server by name and address, as fetchmail's", "[deliver][received]") {
  Zone utc("UTC0");
  ReceivedInfo i = info();
  i.server_address = "192.0.2.1";
  CHECK(add_received("Subject: x\r\n\r\n", i) ==
        "Received: from pop.example.net [192.0.2.1]\r\n\tby mail.example.com with POP3 (clamfetch 0.1.0)\r\n"
        "\tfor <virtualuser1@example.com>; Thu, 1 Jan 1970 00:00:00 +0000\r\nSubject: x\r\n\r\n");
  // An IPv6 address carries the "IPv6:" tag of RFC 5321's address literals.
  i.server_address = "2001:db8::1";
  CHECK(add_received("Subject: x\r\n\r\n", i).rfind("Received: from pop.example.net [IPv6:2001:db8::1]\r\n", 0) == 0);
  // Unknown address: the name alone, as before.
  i.server_address.clear();
  CHECK(add_received("Subject: x\r\n\r\n", i).rfind("Received: from pop.example.net\r\n", 0) == 0);
}

TEST_CASE("Received header: an address cannot break the header either", "[deliver][received]") {
  ReceivedInfo i = info();
  i.server_address = "1.2.3.4]\r\nX-Injected: 1";
  std::string out = add_received("Subject: x\r\n\r\n", i);
  CHECK(out.find("\nX-Injected") == std::string::npos);
}
