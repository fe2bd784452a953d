#include "s3_xml.hpp"

#include <charconv>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>

namespace fti::storage::s3xml {
namespace {

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// "#65" or "#x41" -> the code point; nullopt unless a valid Unicode scalar value.
std::optional<std::uint32_t> numeric_entity(std::string_view name) {
  if (name.size() < 2 || name[0] != '#') return std::nullopt;
  int base = 10;
  name.remove_prefix(1);
  if (name[0] == 'x' || name[0] == 'X') {
    base = 16;
    name.remove_prefix(1);
  }
  std::uint32_t cp = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), cp, base);
  if (ec != std::errc() || end != name.data() + name.size() || name.empty()) return std::nullopt;
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return cp;
}

// Appends the entity `name` (between '&' and ';') decoded; false when it is not one.
bool append_entity(std::string& out, std::string_view name) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [entity, c] : kNamed) {
    if (name == entity) {
      out.push_back(c);
      return true;
    }
  }
  if (auto cp = numeric_entity(name)) {
    append_utf8(out, *cp);
    return true;
  }
  return false;
}

// Where the start tag <tag ...> or <tag/> begins at or after `from`; npos when none. A longer
// name with the same start ("<KeyCount>" for "Key") is skipped.
std::size_t find_start_tag(std::string_view xml, std::string_view tag, std::size_t from) {
  for (;;) {
    auto at = xml.find('<', from);
    if (at == std::string_view::npos) return at;
    auto name_end = at + 1 + tag.size();
    if (xml.compare(at + 1, tag.size(), tag) == 0 && name_end < xml.size()) {
      char next = xml[name_end];
      if (next == '>' || next == '/' || next == ' ' || next == '\t' || next == '\r' || next == '\n') return at;
    }
    from = at + 1;
  }
}

std::int64_t parse_int(std::string_view s, std::int64_t fallback) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return (ec == std::errc() && end == s.data() + s.size()) ? v : fallback;
}

}  // namespace

std::string decode_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size();) {
    if (raw.compare(i, 9, "<![CDATA[") == 0) {
      auto end = raw.find("]]>", i + 9);
      if (end == std::string_view::npos) end = raw.size();
      out.append(raw.substr(i + 9, end - (i + 9)));
      i = end == raw.size() ? end : end + 3;
      continue;
    }
    if (raw[i] == '&') {
      auto semi = raw.find(';', i + 1);
      // Entities are short; a far ';' means a bare '&' that a lenient server let through.
      if (semi != std::string_view::npos && semi - i <= 10 && append_entity(out, raw.substr(i + 1, semi - i - 1))) {
        i = semi + 1;
        continue;
      }
    }
    out.push_back(raw[i++]);
  }
  return out;
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::vector<std::string_view> elements(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string close = fmt::format("</{}>", tag);
  std::size_t from = 0;
  for (;;) {
    auto start = find_start_tag(xml, tag, from);
    if (start == std::string_view::npos) break;
    auto gt = xml.find('>', start);
    if (gt == std::string_view::npos) break;
    if (xml[gt - 1] == '/') {  // <tag/>
      out.emplace_back();
      from = gt + 1;
      continue;
    }
    auto end = xml.find(close, gt + 1);
    if (end == std::string_view::npos) break;  // cut short: what came before still counts
    out.push_back(xml.substr(gt + 1, end - gt - 1));
    from = end + close.size();
  }
  return out;
}

std::optional<std::string> text(std::string_view xml, std::string_view tag) {
  auto found = elements(xml, tag);
  if (found.empty()) return std::nullopt;
  return decode_text(found.front());
}

Result<ListPage> parse_list_objects_v2(std::string_view xml) {
  if (elements(xml, "ListBucketResult").empty()) {
    return Error(errc::storage_error, "S3 answered a listing that is not a ListBucketResult document");
  }
  ListPage page;
  for (auto contents : elements(xml, "Contents")) {
    auto key = text(contents, "Key");
    if (!key) return Error(errc::storage_error, "S3 listed an object without a <Key>");
    BlobInfo info;
    info.key = std::move(*key);
    info.size = parse_int(text(contents, "Size").value_or(""), 0);
    info.modified_ms = parse_iso8601(text(contents, "LastModified").value_or("")).value_or(0);
    page.objects.push_back(std::move(info));
  }
  page.truncated = text(xml, "IsTruncated").value_or("false") == "true";
  if (page.truncated) {
    page.next_token = text(xml, "NextContinuationToken").value_or("");
    if (page.next_token.empty()) {
      return Error(errc::storage_error, "S3 said the listing goes on but gave no NextContinuationToken");
    }
  }
  return page;
}

std::optional<ErrorBody> parse_error(std::string_view xml) {
  auto error = elements(xml, "Error");
  if (error.empty()) return std::nullopt;
  return ErrorBody{text(error.front(), "Code").value_or(""), text(error.front(), "Message").value_or("")};
}

Result<std::string> parse_upload_id(std::string_view xml) {
  auto id = text(xml, "UploadId");
  if (!id || id->empty()) {
    return Error(errc::storage_error, "S3 started a multipart upload but gave no <UploadId>");
  }
  return std::move(*id);
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
  std::string out = "<CompleteMultipartUpload>";
  for (std::size_t i = 0; i < etags.size(); ++i) {
    out += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", i + 1, escape(etags[i]));
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::optional<TimeMs> parse_iso8601(std::string_view s) {
  std::tm tm{};
  int millis = 0;
  char tail[8] = {};
  std::string text(s);
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%7s", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                      &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, tail);
  if (n < 6) return std::nullopt;
  if (n == 6 && text.size() != 20) return std::nullopt;  // only "...SSZ" without a fraction
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<TimeMs>(timegm(&tm)) * 1000 + (n >= 7 ? millis : 0);
}

}  // namespace fti::storage::s3xml
