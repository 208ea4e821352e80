// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
#include "support/servers.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <system_error>

extern char** environ;

namespace clamfetch::test {
namespace {

namespace fs = std::filesystem;

constexpr auto kRunTimeout = std::chrono::minutes(5);

std::runtime_error failure(const std::string& what, const RunResult& result) {
  return std::runtime_error(what + " (exit " + std::to_string(result.exit_code) + ")\n" +
                            result.out + result.err);
}

std::map<std::string, std::string> parse_env_file(const std::string& text) {
  std::map<std::string, std::string> values;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return values;
}

// Regular files in DIR/new and DIR/cur, sorted by file name (Maildir names start with the
// delivery time; Dovecot appends ":2,FLAGS" when it moves a file to cur).
std::vector<std::string> maildir_contents(const std::string& maildir) {
  std::vector<fs::path> files;
  for (const char* sub : {"new", "cur"}) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(maildir) / sub, ec)) {
      if (entry.is_regular_file()) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });
  std::vector<std::string> contents;
  for (const auto& file : files) contents.push_back(read_file(file));
  return contents;
}

// ---------------------------------------------------------------- run()

struct Pipe {
  int read_end = -1;
  int write_end = -1;
};

Pipe make_pipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  return {fds[0], fds[1]};
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Everything the child needs, built before fork(): the child only calls async-signal-safe
// functions (a test's fake server thread may hold the allocator's lock at fork time).
struct ChildSetup {
  std::vector<std::string> env_strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
  bool switch_user = false;
  std::vector<gid_t> groups;  // looked up before fork: the child may only make system calls
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

ChildSetup prepare_child(const std::vector<std::string>& argv, const std::string& as_user,
                         const std::map<std::string, std::string>& env) {
  ChildSetup setup;
  std::map<std::string, std::string> vars;
  if (as_user.empty()) {
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string entry(*e);
      const auto eq = entry.find('=');
      if (eq != std::string::npos) vars[entry.substr(0, eq)] = entry.substr(eq + 1);
    }
  } else {
    const passwd* pw = getpwnam(as_user.c_str());
    if (pw == nullptr) throw std::runtime_error("run: no such user: " + as_user);
    setup.switch_user = true;
    setup.uid = pw->pw_uid;
    setup.gid = pw->pw_gid;
    setup.home = pw->pw_dir;
    int count = 32;
    setup.groups.resize(static_cast<std::size_t>(count));
    while (getgrouplist(pw->pw_name, pw->pw_gid, setup.groups.data(), &count) < 0) {
      setup.groups.resize(static_cast<std::size_t>(count));
    }
    setup.groups.resize(static_cast<std::size_t>(count));
    vars = {{"HOME", pw->pw_dir}, {"USER", pw->pw_name}, {"LOGNAME", pw->pw_name},
            {"SHELL", pw->pw_shell}, {"PATH", "/usr/local/bin:/usr/bin:/bin"}};
  }
  for (const auto& [key, value] : env) vars[key] = value;
  for (const auto& [key, value] : vars) setup.env_strings.push_back(key + "=" + value);
  for (auto& s : setup.env_strings) setup.envp.push_back(s.data());
  setup.envp.push_back(nullptr);
  for (const auto& arg : argv) setup.argv.push_back(const_cast<char*>(arg.c_str()));
  setup.argv.push_back(nullptr);
  return setup;
}

[[noreturn]] void child_fail(const char* what) {
  const int saved = errno;
  const char* reason = strerror(saved);
  [[maybe_unused]] ssize_t n = write(STDERR_FILENO, "run: ", 5);
  n = write(STDERR_FILENO, what, strlen(what));
  n = write(STDERR_FILENO, ": ", 2);
  n = write(STDERR_FILENO, reason, strlen(reason));
  n = write(STDERR_FILENO, "\n", 1);
  _exit(127);
}

[[noreturn]] void exec_child(ChildSetup& setup, const Pipe& in, const Pipe& out, const Pipe& err) {
  setpgid(0, 0);  // its own group, so a timeout kills everything it started
  if (dup2(in.read_end, STDIN_FILENO) < 0 || dup2(out.write_end, STDOUT_FILENO) < 0 ||
      dup2(err.write_end, STDERR_FILENO) < 0) {
    _exit(127);
  }
  signal(SIGPIPE, SIG_DFL);  // an ignored signal stays ignored across exec
  if (setup.switch_user) {
    // Not initgroups: its NSS lookup allocates, and a fork of a threaded parent (a fake
    // server's thread) may have copied the allocator's lock held: the child then hangs.
    if (setgroups(setup.groups.size(), setup.groups.data()) != 0) child_fail("setgroups");
    if (setgid(setup.gid) != 0) child_fail("setgid");
    if (setuid(setup.uid) != 0) child_fail("setuid");
    if (chdir(setup.home.c_str()) != 0) child_fail("chdir to home");
  }
  environ = setup.envp.data();  // execvp searches the child's PATH, not ours
  execvp(setup.argv[0], setup.argv.data());
  child_fail(setup.argv[0]);
}

// Reads what is available; returns false at end of file.
bool read_some(int fd, std::string& into) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n > 0) {
      into.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// The parent's side: feed stdin, collect stdout/stderr until the child exits or times out.
class ChildIo {
 public:
  ChildIo(pid_t pid, int in, int out, int err, const std::string& input)
      : pid_(pid), in_(in), out_(out), err_(err), input_(input) {
    // Readable once the child exited (glibc 2.36 declares pidfd_open without C linkage for
    // C++, so call the system call). On failure: poll every 20 ms.
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
    for (int fd : {in_, out_, err_}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    if (input_.empty()) close_fd(in_);
  }
  ~ChildIo() {
    for (int* fd : {&in_, &out_, &err_, &pidfd_}) close_fd(*fd);
  }
  ChildIo(const ChildIo&) = delete;
  ChildIo& operator=(const ChildIo&) = delete;

  RunResult wait() {
    const auto deadline = std::chrono::steady_clock::now() + kRunTimeout;
    int status = 0;
    while (!exited(status)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return kill_after_timeout();
      poll_once(static_cast<int>(std::min<long>(left.count(), pidfd_ >= 0 ? 1000 : 20)));
    }
    // The child is gone; whatever it wrote is in the pipes. Do not wait for end of file:
    // daemons it started may hold the pipes open.
    if (out_ >= 0) read_some(out_, result_.out);
    if (err_ >= 0) read_some(err_, result_.err);
    result_.exit_code = decode_status(status);
    return result_;
  }

 private:
  bool exited(int& status) {
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    return r == pid_ || (r < 0 && errno == ECHILD);
  }

  void poll_once(int timeout_ms) {
    pollfd fds[4] = {{in_, POLLOUT, 0}, {out_, POLLIN, 0}, {err_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
    if (poll(fds, 4, timeout_ms) < 0) return;
    if (fds[0].revents != 0) write_input();
    if (fds[1].revents != 0 && !read_some(out_, result_.out)) close_fd(out_);
    if (fds[2].revents != 0 && !read_some(err_, result_.err)) close_fd(err_);
  }

  void write_input() {
    const ssize_t n = write(in_, input_.data() + written_, input_.size() - written_);
    if (n > 0) written_ += static_cast<std::size_t>(n);
    if ((n < 0 && errno != EAGAIN && errno != EINTR) || written_ == input_.size()) close_fd(in_);
  }

  RunResult kill_after_timeout() {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    result_.exit_code = decode_status(status);
    result_.err += "\nrun: killed after the safety timeout\n";
    return result_;
  }

  pid_t pid_;
  int in_, out_, err_;
  int pidfd_ = -1;
  const std::string& input_;
  std::size_t written_ = 0;
  RunResult result_{-1, "", ""};
};

}  // namespace

// ---------------------------------------------------------------- free functions

std::string fixture_script() { return std::string(CLAMFETCH_SOURCE_DIR) + "/tests/fixture/mailservers"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

std::string lf_to_crlf(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 32);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

std::string make_message(const std::string& message_id, std::size_t body_bytes,
                         const std::string& extra_headers) {
  const std::string id = message_id.starts_with('<') ? message_id : "<" + message_id + ">";
  std::string message = "From: Test Sender <sender@example.org>\r\n"
                        "To: virtualuser1@example.com\r\n"
                        "Subject: test message " + id + "\r\n"
                        "Date: Sat, 01 Jan 2022 12:00:00 +0000\r\n"
                        "Message-ID: " + id + "\r\n";
  if (!extra_headers.empty()) {
    message += extra_headers;
    if (!extra_headers.ends_with("\r\n")) message += "\r\n";
  }
  message += "\r\n";

  static constexpr std::string_view kFill = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string body = "Body of " + id + ".\r\n";
  for (std::size_t line = 1; body.size() < body_bytes; ++line) {
    char number[16];
    std::snprintf(number, sizeof number, "%06zu ", line);
    std::string text = number;
    for (std::size_t i = line; text.size() < 76; ++i) text += kFill[i % kFill.size()];
    body += text + "\r\n";
  }
  if (body_bytes < 2) {
    body.resize(body_bytes);
  } else {
    body.resize(body_bytes - 2);
    if (!body.empty() && body.back() == '\r') body.back() = 'x';  // cut between CR and LF: no "\r\r\n"
    body += "\r\n";
  }
  return message + body;
}

RunResult run(const std::vector<std::string>& argv, const std::string& as_user,
              const std::map<std::string, std::string>& env, const std::string& input) {
  if (argv.empty()) throw std::invalid_argument("run: empty argv");
  signal(SIGPIPE, SIG_IGN);  // a child that stops reading its stdin must not kill the test
  ChildSetup setup = prepare_child(argv, as_user, env);
  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe();
  const pid_t pid = fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) exec_child(setup, in, out, err);
  close_fd(in.read_end);
  close_fd(out.write_end);
  close_fd(err.write_end);
  ChildIo io(pid, in.write_end, out.read_end, err.read_end, input);
  return io.wait();
}

// ---------------------------------------------------------------- MailServers

MailServers::MailServers(Options options) {
  char path[] = "/tmp/cfXXXXXX";  // short: Dovecot's socket paths must stay under 108 bytes
  if (mkdtemp(path) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
  dir_ = path;
  std::vector<std::string> start{fixture_script(), "start", dir_};
  if (!options.imap_uidplus) start.push_back("--imap-without-uidplus");
  if (!options.imap_qresync) start.push_back("--imap-without-qresync");
  if (options.server == Server::cyrus) start.push_back("--cyrus");
  if (!options.oauth2_jwt_key.empty()) start.insert(start.end(), {"--oauth2-jwt-key", options.oauth2_jwt_key});
  if (!options.oauth2_introspection.empty()) {
    start.insert(start.end(), {"--oauth2-introspection", options.oauth2_introspection});
  }
  if (!options.oauth2_ca.empty()) start.insert(start.end(), {"--oauth2-ca", options.oauth2_ca});
  if (!options.oauth2_mechanisms.empty()) {
    start.insert(start.end(), {"--oauth2-mechanisms", options.oauth2_mechanisms});
  }
  const RunResult started = run(start);
  if (started.exit_code != 0) {
    run({fixture_script(), "stop", dir_});
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw failure("mailservers start " + dir_ + " failed", started);
  }
  env_ = parse_env_file(read_file(dir_ + "/env"));
}

MailServers::~MailServers() {
  try {
    const RunResult stopped = run({fixture_script(), "stop", dir_});
    if (stopped.exit_code != 0) std::cerr << "mailservers stop " << dir_ << ": " << stopped.err;
    const char* keep = std::getenv("CLAMFETCH_KEEP_FIXTURE");
    if (keep != nullptr && std::string(keep) == "1") {
      std::cerr << "CLAMFETCH_KEEP_FIXTURE: kept " << dir_ << "\n";
      return;
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  } catch (const std::exception& e) {
    std::cerr << "~MailServers: " << e.what() << "\n";
  }
}

const std::string& MailServers::dir() const { return dir_; }

std::string MailServers::env(const std::string& key) const {
  const auto it = env_.find(key);
  if (it == env_.end()) throw std::runtime_error("no " + key + " in " + dir_ + "/env");
  return it->second;
}

int MailServers::port(const std::string& key) const { return std::stoi(env(key)); }

void MailServers::fixture(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{fixture_script(), args.at(0), dir_};
  argv.insert(argv.end(), args.begin() + 1, args.end());
  const RunResult result = run(argv);
  if (result.exit_code != 0) throw failure("mailservers " + args.at(0) + " " + dir_, result);
}

void MailServers::seed(const std::string& user, const std::string& message_bytes) const {
  seed(user, std::vector<std::string>{message_bytes});
}

void MailServers::seed(const std::string& user, const std::vector<std::string>& messages) const {
  const fs::path staging = fs::path(dir_) / ("seed-" + user);
  fs::create_directories(staging);
  std::vector<std::string> args{"seed", user};
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string file = (staging / std::to_string(i)).string();
    std::ofstream(file, std::ios::binary) << messages[i];
    args.push_back(file);
  }
  fixture(args);
  fs::remove_all(staging);
}

std::vector<std::string> MailServers::remote_messages(const std::string& user) const {
  if (env("SERVER") == "dovecot") return maildir_contents(env("REMOTE") + "/" + user);
  // Cyrus's spool is no Maildir: the fixture reads the INBOX over IMAP into OUTDIR/1, 2, ...
  const fs::path out = fs::path(dir_) / ("remote-" + user);
  fs::remove_all(out);
  fs::create_directories(out);
  fixture({"remote", user, out.string()});
  std::vector<std::string> contents;
  for (int n = 1; fs::exists(out / std::to_string(n)); ++n) {
    contents.push_back(read_file(out / std::to_string(n)));
  }
  fs::remove_all(out);
  return contents;
}

void MailServers::wait_queue_empty(int seconds) const {
  fixture({"wait-queue", std::to_string(seconds)});
}

int MailServers::deferred_count() const {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(dir_ + "/pfqueue/deferred", ec)) {
    if (entry.is_regular_file()) ++count;
  }
  return count;
}

std::vector<std::string> MailServers::delivered(const std::string& localpart) const {
  return maildir_contents(env("VMAIL") + "/" + localpart);
}

std::vector<std::string> MailServers::lmtp_delivered(const std::string& localpart) const {
  return maildir_contents(env("LMTP_MAIL") + "/" + localpart);
}

void MailServers::stop_postfix() const { fixture({"stop-postfix"}); }

void MailServers::start_postfix() const { fixture({"start-postfix"}); }

std::string MailServers::dovecot_log() const { return read_file(env("DOVECOT_LOG")); }

std::string MailServers::postfix_log() const { return read_file(env("POSTFIX_LOG")); }

}  // namespace clamfetch::test
