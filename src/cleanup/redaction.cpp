#include "redaction.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "secret_scan.hpp"

namespace fti::cleanup::detail {
namespace {

constexpr std::string_view kRedacted = "[redacted]";

std::string placeholder(std::size_t n) {
  return std::string(Redaction::kMarker) + std::to_string(n) + "__";
}

// Overlapping findings (a key id inside a private key block) become one region.
std::vector<SecretSpan> merged_spans(std::string_view text) {
  std::vector<SecretSpan> merged;
  for (SecretSpan& s : secret_spans_in_text(text)) {
    if (!merged.empty() && s.begin < merged.back().end) {
      merged.back().end = std::max(merged.back().end, s.end);
    } else {
      merged.push_back(std::move(s));
    }
  }
  return merged;
}

// A placeholder starting at `pos`: its number and length; nullopt when the text there only
// looks like the start of one.
struct FoundPlaceholder {
  std::size_t index = 0;
  std::size_t length = 0;
};

std::optional<FoundPlaceholder> placeholder_at(std::string_view text, std::size_t pos) {
  std::size_t i = pos + Redaction::kMarker.size();
  std::size_t digits_begin = i;
  std::size_t index = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - digits_begin < 6) {
    index = index * 10 + static_cast<std::size_t>(text[i] - '0');
    ++i;
  }
  if (i == digits_begin || text.substr(i, 2) != "__") return std::nullopt;
  return FoundPlaceholder{index, i + 2 - pos};
}

}  // namespace

Result<Redaction> Redaction::of(std::string_view text) {
  if (text.find(kMarker) != std::string_view::npos) {
    return Error(errc::conflict, "the text already holds the redaction marker");
  }
  Redaction r;
  std::map<std::string, std::size_t, std::less<>> index_of;  // one placeholder per secret
  std::size_t copied = 0;
  for (const SecretSpan& span : merged_spans(text)) {
    std::string_view secret = text.substr(span.begin, span.end - span.begin);
    auto [it, inserted] = index_of.try_emplace(std::string(secret), r.secrets_.size());
    if (inserted) {
      r.secrets_.emplace_back(secret);
      r.occurrences_.push_back(0);
    }
    ++r.occurrences_[it->second];
    r.text_.append(text.substr(copied, span.begin - copied));
    r.text_ += placeholder(it->second);
    copied = span.end;
  }
  r.text_.append(text.substr(copied));
  return r;
}

Result<std::string> Redaction::restore(std::string_view answer) const {
  std::vector<std::size_t> seen(secrets_.size(), 0);
  std::string out;
  std::size_t copied = 0;
  for (std::size_t pos = answer.find(kMarker); pos != std::string_view::npos;
       pos = answer.find(kMarker, pos + 1)) {
    auto found = placeholder_at(answer, pos);
    if (!found) continue;
    if (found->index >= secrets_.size()) {
      return Error(errc::bad_request, "invents a redacted secret");
    }
    ++seen[found->index];
    out.append(answer.substr(copied, pos - copied));
    out += secrets_[found->index];
    copied = pos + found->length;
    pos = copied - 1;
  }
  out.append(answer.substr(copied));
  for (std::size_t n = 0; n < secrets_.size(); ++n) {
    if (seen[n] < occurrences_[n]) return Error(errc::bad_request, "would drop a redacted secret");
    if (seen[n] > occurrences_[n]) return Error(errc::bad_request, "would copy a redacted secret");
  }
  return out;
}

std::string Redaction::scrub(std::string_view answer) {
  std::string out;
  std::size_t copied = 0;
  for (std::size_t pos = answer.find(kMarker); pos != std::string_view::npos;
       pos = answer.find(kMarker, pos + 1)) {
    auto found = placeholder_at(answer, pos);
    if (!found) continue;
    out.append(answer.substr(copied, pos - copied));
    out += kRedacted;
    copied = pos + found->length;
    pos = copied - 1;
  }
  out.append(answer.substr(copied));
  return out;
}

std::string mask_secrets(std::string_view text) {
  std::string out;
  std::size_t copied = 0;
  for (const SecretSpan& span : merged_spans(text)) {
    out.append(text.substr(copied, span.begin - copied));
    out += kRedacted;
    copied = span.end;
  }
  out.append(text.substr(copied));
  return out;
}

}  // namespace fti::cleanup::detail
