// SPDX-License-Identifier: GPL-2.0-or-later WITH LicenseRef-OpenSSL-exception
// The authorization-code grant for a program without a web server (RFC 8252): PKCE S256
// (RFC 7636), a one-shot HTTP listener on 127.0.0.1 at an ephemeral port as the redirect
// URI, and the state value checked on the way back.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>

#include "oauth/internal.hpp"
#include "oauth/login_internal.hpp"
#include "oauth/pkce.hpp"

namespace clamfetch::oauth {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

Error code_error(const std::string& account, const std::string& what, Kind kind = Kind::auth) {
  return make_error(kind, Scope::account, "OAuth2 login for " + account + ": " + what);
}

// Listens on 127.0.0.1 at a port the kernel picks; returns the port, or 0.
int listen_loopback(int fd) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), size) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0)
    return 0;
  return ntohs(address.sin_port);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// The query parameters of a request line "GET /path?a=b&c=d HTTP/1.1".
std::map<std::string, std::string> query_of(const std::string& request) {
  std::map<std::string, std::string> params;
  auto line_end = request.find("\r\n");
  std::string line = request.substr(0, line_end);
  auto question = line.find('?');
  if (line.rfind("GET ", 0) != 0 || question == std::string::npos) return params;
  std::string query = line.substr(question + 1, line.rfind(' ') - question - 1);
  std::size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    std::string pair = query.substr(start, amp == std::string::npos ? amp : amp - start);
    auto eq = pair.find('=');
    if (eq != std::string::npos) params[url_decode(pair.substr(0, eq))] = url_decode(pair.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return params;
}

// Reads one request's head (bounded: 16 KB, the deadline) and answers it with a short page.
std::string serve_one(int client, Clock::time_point deadline, bool* done_page) {
  std::string request;
  char buffer[4096];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 16384) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{client, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    request.append(buffer, static_cast<std::size_t>(n));
  }
  auto params = query_of(request);
  *done_page = params.count("code") != 0 || params.count("error") != 0;
  std::string body = *done_page ? "clamfetch: authorization received, you can close this window.\n"
                                : "clamfetch: waiting for the authorization.\n";
  std::string reply = std::string(*done_page ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                      "\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(body.size()) + "\r\n\r\n" + body;
  (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
  return request;
}

// Waits for the browser's redirect carrying code or error; other requests (favicon) get 404.
Result<std::map<std::string, std::string>> await_redirect(int listener, const std::string& account,
                                                          Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{listener, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return code_error(account, "no authorization came back in time");
    Fd client(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (client.fd < 0) continue;
    bool done = false;
    std::string request = serve_one(client.fd, std::min(deadline, Clock::now() + std::chrono::seconds(10)), &done);
    if (done) return query_of(request);
  }
}

std::string authorization_url(const Config& config, const std::string& redirect_uri,
                              const std::string& state, const std::string& challenge) {
  Form query{{"response_type", "code"},  {"client_id", config.client_id},
             {"redirect_uri", redirect_uri}, {"scope", config.scope},
             {"state", state},            {"code_challenge", challenge},
             {"code_challenge_method", "S256"},
             // A refresh token needs the consent asked again when one was given before.
             {"prompt", "consent"}};
  if (config.provider == Provider::google) query.emplace_back("access_type", "offline");
  char separator = config.authorization_endpoint.find('?') == std::string::npos ? '?' : '&';
  return config.authorization_endpoint + separator + form_encode(query);
}

}  // namespace

Status code_login(const Config& config, const std::string& account, const std::string& path,
                  const LoginIo& io) {
  if (config.authorization_endpoint.empty())
    return code_error(account, "the authorization_code flow needs authorization_endpoint", Kind::config);
  const std::string verifier = random_token(32), state = random_token(16);
  if (verifier.empty() || state.empty()) return code_error(account, "no random bytes", Kind::internal);
  Fd listener(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int port = listener.fd < 0 ? 0 : listen_loopback(listener.fd);
  if (port == 0) return code_error(account, "cannot listen on 127.0.0.1", Kind::internal);
  const std::string redirect_uri = "http://127.0.0.1:" + std::to_string(port) + "/";
  const std::string url = authorization_url(config, redirect_uri, state, pkce_challenge(verifier));
  if (io.on_authorization_url) {
    io.on_authorization_url(url);
  } else if (io.out != nullptr) {
    *io.out << "To authorize clamfetch for " << account << ", open this URL in a browser:\n"
            << url << "\nWaiting for the approval..." << std::endl;
  }
  auto params = await_redirect(listener.fd, account, Clock::now() + io.wait);
  if (!params) return params.error();
  // Our own state back, or the redirect came from somewhere else (RFC 6749 10.12).
  if ((*params)["state"] != state) return code_error(account, "the redirect's state does not match");
  if (params->count("error") != 0) {
    std::string text = "the authorization was refused: " + one_line((*params)["error"], 64);
    if (params->count("error_description") != 0) text += " (" + one_line((*params)["error_description"]) + ")";
    return code_error(account, text);
  }
  Form form{{"grant_type", "authorization_code"}, {"code", (*params)["code"]},
            {"redirect_uri", redirect_uri}, {"code_verifier", verifier}};
  for (auto& field : client_fields(config)) form.push_back(std::move(field));
  auto reply = token_request(config, form);
  if (!reply) return reply.error();
  if (!reply->ok()) {
    std::string text = "code exchange refused: " + reply->error;
    if (!reply->error_description.empty()) text += " (" + reply->error_description + ")";
    return code_error(account, text);
  }
  return store_login(path, account, *reply);
}

}  // namespace clamfetch::oauth
