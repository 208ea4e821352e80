#pragma once
// The scan corpus, generated at run time: infected messages (EICAR raw, base64, in a zip in an
// attachment, nested multipart, quoted-printable, forwarded, the false-positive marker, the
// clamav-testfiles samples) and clean messages of varied MIME structure. Shared by the
// libclamav unit test and the clamd integration test, so both see the same bytes.
//
// The EICAR test string is never stored: it is built from two halves here.

#include <cctype>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

namespace clamfetch::test::corpus {

inline std::string eicar() {
  std::string head = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR";
  return head + "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
}

/// The test database's false-positive word: any message containing it is "infected".
inline std::string false_positive_marker() { return std::string("CLAMFETCH-FALSE-") + "POSITIVE-MARKER"; }

inline const char* source_dir() { return CLAMFETCH_SOURCE_DIR; }
inline std::string signatures_dir() { return std::string(source_dir()) + "/tests/data/signatures"; }
inline const char* kTestfiles = "/usr/share/clamav-testfiles";

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string base64(const std::string& data, std::size_t line = 76) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out, cur;
  std::size_t i = 0;
  auto emit = [&](char c) {
    cur += c;
    if (cur.size() == line) {
      out += cur + "\r\n";
      cur.clear();
    }
  };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t n = (uint8_t(data[i]) << 16) | (uint8_t(data[i + 1]) << 8) | uint8_t(data[i + 2]);
    for (int s = 18; s >= 0; s -= 6) emit(table[(n >> s) & 63]);
  }
  if (i < data.size()) {
    uint32_t n = uint8_t(data[i]) << 16;
    if (i + 1 < data.size()) n |= uint8_t(data[i + 1]) << 8;
    emit(table[(n >> 18) & 63]);
    emit(table[(n >> 12) & 63]);
    emit(i + 1 < data.size() ? table[(n >> 6) & 63] : '=');
    emit('=');
  }
  if (!cur.empty()) out += cur + "\r\n";
  return out;
}

/// Quoted-printable with every non-alphanumeric byte encoded, soft breaks at 60 columns.
inline std::string quoted_printable(const std::string& data) {
  static const char* hex = "0123456789ABCDEF";
  std::string out, cur;
  for (unsigned char c : data) {
    std::string piece;
    if (std::isalnum(c) || c == ' ') {
      piece = std::string(1, char(c));
    } else {
      piece = {'=', hex[c >> 4], hex[c & 15]};
    }
    if (cur.size() + piece.size() > 60) {
      out += cur + "=\r\n";
      cur.clear();
    }
    cur += piece;
  }
  return out + cur + "\r\n";
}

inline uint32_t crc32(const std::string& data) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void put16(std::string& s, uint32_t v) { s += char(v & 0xff), s += char((v >> 8) & 0xff); }
inline void put32(std::string& s, uint32_t v) { put16(s, v & 0xffff), put16(s, v >> 16); }

struct ZipEntry {
  std::string name;
  std::string data;
};

/// A zip archive with stored (uncompressed) entries.
inline std::string zip(const std::vector<ZipEntry>& entries) {
  std::string out, central;
  for (const auto& e : entries) {
    uint32_t offset = static_cast<uint32_t>(out.size()), crc = crc32(e.data);
    uint32_t size = static_cast<uint32_t>(e.data.size());
    auto common = [&](std::string& s) {
      put16(s, 20), put16(s, 0), put16(s, 0), put16(s, 0), put16(s, 0x21);
      put32(s, crc), put32(s, size), put32(s, size), put16(s, uint32_t(e.name.size())), put16(s, 0);
    };
    put32(out, 0x04034b50);
    common(out);
    out += e.name + e.data;
    put32(central, 0x02014b50);
    put16(central, 20);
    common(central);
    put16(central, 0), put16(central, 0), put16(central, 0), put32(central, 0), put32(central, offset);
    central += e.name;
  }
  uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50), put16(out, 0), put16(out, 0);
  put16(out, uint32_t(entries.size())), put16(out, uint32_t(entries.size()));
  put32(out, uint32_t(central.size())), put32(out, cd_offset), put16(out, 0);
  return out;
}

inline std::string headers(const std::string& subject, const std::string& content_type) {
  return "Return-Path: <sender@example.net>\r\nFrom: Sender <sender@example.net>\r\n"
         "To: virtualuser1@example.com\r\nSubject: " + subject +
         "\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <" + subject +
         "@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type + "\r\n";
}

inline std::string attachment(const std::string& type, const std::string& name,
                              const std::string& data) {
  return "Content-Type: " + type + "; name=\"" + name +
         "\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"" +
         name + "\"\r\n\r\n" + base64(data);
}

inline std::string text_part(const std::string& text) {
  return "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text + "\r\n";
}

/// multipart/<kind> of ready-made parts (each: its headers, blank line, body).
inline std::string multipart(const std::string& boundary, const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "--" + boundary + "\r\n" + p;
  return out + "--" + boundary + "--\r\n";
}

inline std::string mixed_message(const std::string& subject, const std::vector<std::string>& parts) {
  return headers(subject, "multipart/mixed; boundary=\"b-" + subject + "\"") + "\r\n" +
         "This is a multi-part message in MIME format.\r\n" + multipart("b-" + subject, parts);
}

struct Case {
  std::string label;
  std::string message;
  std::string expected;  ///< signature name (with .UNOFFICIAL); empty: clean
  bool prefix = false;   ///< expected is a prefix (testfiles match a body or a hash signature)
};

inline std::vector<Case> infected_cases() {
  const std::string kEicar = "Clamfetch.Test.EICAR.UNOFFICIAL";
  std::vector<Case> cases;
  cases.push_back({"raw", headers("raw", "text/plain") + "\r\n" + eicar() + "\r\n", kEicar});
  cases.push_back({"base64 attachment",
                   mixed_message("b64", {text_part("see attached"),
                                         attachment("application/octet-stream", "eicar.com", eicar())}),
                   kEicar});
  std::string z = zip({{"readme.txt", "nothing here\n"}, {"eicar.com", eicar()}});
  cases.push_back({"zip in attachment",
                   mixed_message("zip", {text_part("zipped"), attachment("application/zip", "e.zip", z)}),
                   kEicar});
  std::string zz = zip({{"inner.zip", z}});
  cases.push_back({"zip in zip in attachment",
                   mixed_message("zipzip", {attachment("application/zip", "outer.zip", zz)}), kEicar});
  std::string alternative =
      "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n" +
      multipart("alt", {text_part("plain"), "Content-Type: text/html\r\n\r\n<p>html</p>\r\n"});
  std::string inner_mixed = "Content-Type: multipart/mixed; boundary=\"inner\"\r\n\r\n" +
                            multipart("inner", {text_part("inner text"),
                                                attachment("application/octet-stream", "x.bin", eicar())});
  cases.push_back({"nested multipart", mixed_message("nested", {alternative, inner_mixed}), kEicar});
  cases.push_back({"quoted-printable part",
                   mixed_message("qp", {text_part("qp follows"),
                                        "Content-Type: text/plain\r\nContent-Transfer-Encoding: "
                                        "quoted-printable\r\n\r\n" + quoted_printable(eicar())}),
                   kEicar});
  std::string forwarded = headers("fwd-inner", "multipart/mixed; boundary=\"fi\"") + "\r\n" +
                          multipart("fi", {attachment("application/octet-stream", "e.com", eicar())});
  cases.push_back({"forwarded message/rfc822",
                   mixed_message("fwd", {text_part("forwarded"),
                                         "Content-Type: message/rfc822\r\n\r\n" + forwarded}),
                   kEicar});
  cases.push_back({"false-positive marker",
                   headers("fp", "text/plain") + "\r\nharmless text " + false_positive_marker() + "\r\n",
                   "Clamfetch.Test.FalsePositive.UNOFFICIAL"});
  for (const char* file : {"clam.exe", "clam.zip", "clam.7z", "clam.cab", "clam.tar.gz"}) {
    std::string data = read_file(std::string(kTestfiles) + "/" + file);
    cases.push_back({std::string("clamav-testfiles ") + file,
                     mixed_message("tf", {attachment("application/octet-stream", file, data)}),
                     "Clamfetch.Test.ClamExe", true});
  }
  return cases;
}

inline std::string random_text(std::mt19937& rng, std::size_t words) {
  static const char* vocab[] = {"mail", "server", "report", "meeting", "invoice", "hello", "the",
                                "quarterly", "numbers", "attached", "please", "find", "regards",
                                "tomorrow", "lunch", "project", "update", "status", "review"};
  std::string out;
  for (std::size_t i = 0; i < words; ++i) {
    out += vocab[rng() % std::size(vocab)];
    out += (i % 12 == 11) ? "\r\n" : " ";
  }
  return out;
}

inline std::string random_bytes(std::mt19937& rng, std::size_t n) {
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

/// One clean message of shape `shape % 8`, content from `rng`.
inline std::string clean_message(std::mt19937& rng, int index) {
  std::string s = "clean" + std::to_string(index);
  std::string text = random_text(rng, 20 + rng() % 400);
  switch (index % 8) {
    case 0: return headers(s, "text/plain; charset=us-ascii") + "\r\n" + text;
    case 1:
      return headers(s, "multipart/alternative; boundary=\"a-" + s + "\"") + "\r\n" +
             multipart("a-" + s, {text_part(text), "Content-Type: text/html\r\n\r\n<html><body><p>" +
                                                       text + "</p></body></html>\r\n"});
    case 2:
      return mixed_message(s, {text_part(text), attachment("application/octet-stream", "data.bin",
                                                           random_bytes(rng, 100 + rng() % 20000))});
    case 3:
      return mixed_message(s, {text_part(text), "Content-Type: text/plain\r\nContent-Transfer-Encoding: "
                                                "quoted-printable\r\n\r\n" + quoted_printable(text)});
    case 4:
      return mixed_message(s, {text_part("archive"),
                               attachment("application/zip", "docs.zip",
                                          zip({{"a.txt", text}, {"b.bin", random_bytes(rng, 5000)}}))});
    case 5: {
      std::string inner = headers(s + "-inner", "text/plain") + "\r\n" + text;
      return mixed_message(s, {text_part("fwd"), "Content-Type: message/rfc822\r\n\r\n" + inner});
    }
    case 6: {
      std::string alt = "Content-Type: multipart/alternative; boundary=\"n-" + s + "\"\r\n\r\n" +
                        multipart("n-" + s, {text_part(text), "Content-Type: text/html\r\n\r\n<b>" +
                                                                  text + "</b>\r\n"});
      return mixed_message(s, {alt, attachment("text/plain", "notes.txt", random_text(rng, 300))});
    }
    default:
      return mixed_message(s, {text_part(text), attachment("image/png", "pic.png",
                                                           "\x89PNG\r\n\x1a\n" + random_bytes(rng, 3000))});
  }
}

/// `count` clean messages, the same ones on every call (fixed seed).
inline std::vector<std::string> clean_messages(int count = 200) {
  std::mt19937 rng(20261122);
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(clean_message(rng, i));
  return out;
}

}  // namespace clamfetch::test::corpus
