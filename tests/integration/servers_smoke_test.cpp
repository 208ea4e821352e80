// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The real-server fixture itself: Dovecot and Postfix come up with the test CA, deliver what
// they should where they should, and leave nothing behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "support/servers.hpp"

namespace {

using clamfetch::test::MailServers;
using clamfetch::test::RunResult;

namespace fs = std::filesystem;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// One scripted session through `openssl s_client` as the unprivileged test user, verifying the
// chain against `ca_file` and the name "localhost". `starttls`: "", "pop3" or "imap".
RunResult tls_session(const MailServers& servers, const std::string& port_key,
                      const std::string& ca_file, const std::string& starttls,
                      const std::string& script) {
  std::vector<std::string> argv{"openssl", "s_client", "-connect",
                                "127.0.0.1:" + servers.env(port_key), "-CAfile", ca_file,
                                "-verify_return_error", "-verify_hostname", "localhost",
                                "-servername", "localhost", "-quiet", "-crlf"};
  if (!starttls.empty()) argv.insert(argv.end(), {"-starttls", starttls});
  return clamfetch::test::run(argv, servers.env("TEST_USER"), {}, script);
}

// Hands `message` to the SMTP or LMTP server on `port_key` with Python's smtplib.
RunResult send_mail(const MailServers& servers, const std::string& protocol,
                    const std::string& port_key, const std::string& recipient,
                    const std::string& message) {
  static const std::string kSend =
      "import smtplib, sys\n"
      "protocol, port, recipient = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
      "client = (smtplib.LMTP if protocol == 'lmtp' else smtplib.SMTP)('127.0.0.1', port)\n"
      "refused = client.sendmail('sender@example.org', [recipient], sys.stdin.buffer.read())\n"
      "client.quit()\n"
      "sys.exit(1 if refused else 0)\n";
  return clamfetch::test::run(
      {"python3", "-c", kSend, protocol, servers.env(port_key), recipient}, "", {}, message);
}

// A connected TCP socket to 127.0.0.1:port, or -1.
int connect_to(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool connects(int port) {
  const int fd = connect_to(port);
  if (fd >= 0) close(fd);
  return fd >= 0;
}

// The server's first line (greeting), read within 10 s; "" when the connection is closed.
std::string greeting(int fd) {
  pollfd ready{fd, POLLIN, 0};
  std::string line;
  char c;
  while (line.find('\n') == std::string::npos && poll(&ready, 1, 10000) == 1 &&
         read(fd, &c, 1) == 1) {
    line += c;
  }
  return line;
}

// Alive and not a zombie (PID 1 here does not reap orphans: dead daemons stay as zombies).
bool alive(pid_t pid) {
  std::string stat;
  try {
    stat = clamfetch::test::read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const std::exception&) {
    return false;
  }
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// Live processes of the fixture in `dir`: Dovecot's master has DIR/dovecot.conf in argv, its
// children are titled "dovecot-INSTANCE/service" (the title overwrites their environment too),
// Postfix's processes carry MAIL_CONFIG=DIR/postfix in their environment.
std::set<pid_t> fixture_processes(const std::string& dir, const std::string& instance) {
  const std::string nul(1, '\0');
  std::set<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = std::stoi(name);
    if (pid == getpid() || !alive(pid)) continue;
    try {
      const std::string cmdline = clamfetch::test::read_file(entry.path().string() + "/cmdline");
      const std::string environment = clamfetch::test::read_file(entry.path().string() + "/environ");
      if (contains(nul + cmdline, nul + dir + "/dovecot.conf" + nul) ||
          cmdline.starts_with("dovecot-" + instance + "/") ||
          contains(nul + environment, nul + "MAIL_CONFIG=" + dir + "/postfix" + nul)) {
        pids.insert(pid);
      }
    } catch (const std::exception&) {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids;
}

pid_t pid_from_file(const std::string& path) {
  return static_cast<pid_t>(std::stol(clamfetch::test::read_file(path)));
}

const std::vector<std::string> kPortKeys{"POP3_PORT", "POP3S_PORT", "IMAP_PORT",
                                         "IMAPS_PORT", "LMTP_PORT", "SMTP_PORT"};

}  // namespace

TEST_CASE("Dovecot serves a seeded message over TLS verified against the test CA",
          "[integration][fixture]") {
  MailServers servers;
  const std::string message = clamfetch::test::make_message("smoke-a@clamfetch.test", 3000);
  servers.seed("pop3userid1", message);
  const std::string pop3 = "USER pop3userid1\nPASS pop3password1\nRETR 1\nQUIT\n";
  const std::string imap =
      "a01 LOGIN pop3userid1 pop3password1\na02 SELECT INBOX\na03 FETCH 1 BODY[]\na04 LOGOUT\n";
  const std::string size = std::to_string(message.size());
  const std::string ca = servers.env("CA_FILE");

  const RunResult pop3s = tls_session(servers, "POP3S_PORT", ca, "", pop3);
  CHECK(pop3s.exit_code == 0);
  CHECK(contains(pop3s.out, "+OK " + size + " octets\r\n" + message + ".\r\n"));

  const RunResult imaps = tls_session(servers, "IMAPS_PORT", ca, "", imap);
  CHECK(imaps.exit_code == 0);
  CHECK(contains(imaps.out, "* 1 FETCH (BODY[] {" + size + "}\r\n" + message + ")"));

  const RunResult stls = tls_session(servers, "POP3_PORT", ca, "pop3", pop3);
  CHECK(stls.exit_code == 0);
  CHECK(contains(stls.out, message));

  const RunResult starttls = tls_session(servers, "IMAP_PORT", ca, "imap", imap);
  CHECK(starttls.exit_code == 0);
  CHECK(contains(starttls.out, message));

  for (const char* port_key : {"POP3S_PORT", "IMAPS_PORT"}) {
    INFO(port_key << " with the unrelated CA");
    const RunResult wrong_ca = tls_session(servers, port_key, servers.env("OTHER_CA_FILE"), "",
                                           port_key == std::string("POP3S_PORT") ? pop3 : imap);
    CHECK(wrong_ca.exit_code != 0);
    CHECK(contains(wrong_ca.err, "certificate verify failed"));
    CHECK_FALSE(contains(wrong_ca.out, "smoke-a@clamfetch.test"));
  }

  // Reading deleted nothing, and every session left its trace in Dovecot's log.
  CHECK(servers.remote_messages("pop3userid1") == std::vector<std::string>{message});
  const std::string log = servers.dovecot_log();
  CHECK(contains(log, "pop3-login: Info: Login: user=<pop3userid1>, method=PLAIN"));
  CHECK(contains(log, "imap-login: Info: Login: user=<pop3userid1>, method=PLAIN"));
  CHECK(contains(log, "alert unknown ca"));
}

TEST_CASE("Postfix and Dovecot LMTP deliver byte for byte into Maildirs",
          "[integration][fixture]") {
  MailServers servers;

  const std::string smtp_message = clamfetch::test::make_message("smoke-b1@clamfetch.test", 50000);
  const RunResult smtp = send_mail(servers, "smtp", "SMTP_PORT", "virtualuser1@example.com",
                                   smtp_message);
  REQUIRE(smtp.exit_code == 0);
  servers.wait_queue_empty();
  CHECK(servers.deferred_count() == 0);
  const auto delivered = servers.delivered("virtualuser1");
  REQUIRE(delivered.size() == 1);
  // Postfix adds Return-Path, X-Original-To, Delivered-To and Received, and stores LF line ends.
  const std::string as_sent = clamfetch::test::lf_to_crlf(delivered[0]);
  CHECK(as_sent.starts_with("Return-Path: <sender@example.org>\r\n"));
  CHECK(as_sent.ends_with("(UTC)\r\n" + smtp_message));
  CHECK(servers.delivered("virtualuser2").empty());
  const std::string postfix_log = servers.postfix_log();
  CHECK(contains(postfix_log, "connect from localhost[127.0.0.1]"));
  CHECK(contains(postfix_log, "status=sent (delivered to maildir)"));

  const std::string lmtp_message = clamfetch::test::make_message("smoke-b2@clamfetch.test", 7000);
  const RunResult lmtp = send_mail(servers, "lmtp", "LMTP_PORT", "virtualuser2@example.com",
                                   lmtp_message);
  REQUIRE(lmtp.exit_code == 0);
  const auto lmtp_delivered = servers.lmtp_delivered("virtualuser2");
  REQUIRE(lmtp_delivered.size() == 1);
  CHECK(clamfetch::test::lf_to_crlf(lmtp_delivered[0]).ends_with("\r\n" + lmtp_message));
  CHECK(servers.lmtp_delivered("virtualuser1").empty());
  CHECK(contains(servers.dovecot_log(), "lmtp(virtualuser2@example.com)"));
}

TEST_CASE("MailServers leaves no process and no listening port behind",
          "[integration][fixture]") {
  std::string dir;
  std::string instance;
  std::vector<int> ports;
  std::set<pid_t> pids;
  int pop3_session = -1;
  int smtp_session = -1;
  {
    MailServers servers;
    dir = servers.dir();
    instance = servers.env("DOVECOT_INSTANCE");
    for (const auto& key : kPortKeys) {
      ports.push_back(servers.port(key));
      REQUIRE(connects(ports.back()));
    }
    // Sessions still open when the fixture goes: their server processes must go too.
    pop3_session = connect_to(servers.port("POP3_PORT"));
    smtp_session = connect_to(servers.port("SMTP_PORT"));
    CHECK(greeting(pop3_session).starts_with("+OK"));
    CHECK(greeting(smtp_session).starts_with("220 "));
    pids = fixture_processes(dir, instance);
    // Both masters, Dovecot's anvil, log and config, the POP3 login process, smtpd.
    CHECK(pids.count(pid_from_file(dir + "/run/master.pid")) == 1);
    CHECK(pids.count(pid_from_file(dir + "/pfqueue/pid/master.pid")) == 1);
    REQUIRE(pids.size() >= 7);
  }
  CHECK(greeting(pop3_session).empty());
  CHECK(greeting(smtp_session).empty());
  close(pop3_session);
  close(smtp_session);
  for (const pid_t pid : pids) {
    INFO("pid " << pid);
    CHECK_FALSE(alive(pid));
  }
  CHECK(fixture_processes(dir, instance).empty());
  for (const int port : ports) {
    INFO("port " << port);
    CHECK_FALSE(connects(port));
  }
  CHECK_FALSE(fs::exists(dir));
}
