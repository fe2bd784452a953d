// The secrets pass: finds credentials committed by mistake. Scanning is hand-written (one
// pass per line, no regex engine) and messages show only a masked form of what was found.
// Rules: AWS key ids and secret keys, GitHub tokens (classic and fine-grained), Slack tokens
// and webhooks, OpenAI and Anthropic API keys, Google API keys, Stripe live keys, JWTs,
// passwords inside URLs, private key blocks (PEM, OpenSSH, PGP), and high-entropy values
// assigned to a name that says secret (password, token, api_key...). The same spans feed the
// LLM passes' redaction (secret_scan.hpp), so a rule added here also keeps that secret out of
// prompts. docs/findings.md lists the rules with what they fire on and what they leave alone.
#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <vector>

#include "fti/cleanup/normalize.hpp"
#include "fti/cleanup/pass.hpp"
#include "finding_cap.hpp"
#include "secret_scan.hpp"
#include "tree_files.hpp"

namespace fti::cleanup {
namespace {

constexpr std::int64_t kMaxScanBytes = 64LL << 20;

bool is_upper_or_digit(char c) { return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) {
  return is_upper_or_digit(c) || (c >= 'a' && c <= 'z');
}
bool is_base64(char c) { return is_alnum(c) || c == '/' || c == '+' || c == '='; }
bool is_slack_char(char c) { return is_alnum(c) || c == '-'; }
bool is_word_char(char c) { return is_alnum(c) || c == '_'; }
bool is_base64url(char c) { return is_alnum(c) || c == '_' || c == '-'; }
bool is_jwt_char(char c) { return is_base64url(c) || c == '.'; }
bool is_scheme_char(char c) { return is_alnum(c) || c == '+' || c == '.' || c == '-'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// Random key material mixes upper case, lower case and digits; words and kebab-case names
// (a CSS class such as sk-folding-cube) do not.
bool looks_random(std::string_view s) {
  bool upper = false, lower = false, digit = false;
  for (char c : s) {
    upper = upper || (c >= 'A' && c <= 'Z');
    lower = lower || (c >= 'a' && c <= 'z');
    digit = digit || (c >= '0' && c <= '9');
  }
  return upper && lower && digit;
}

// Just past "PRIVATE KEY-----" or PGP's "PRIVATE KEY BLOCK-----" at or after `from`; npos
// when there is none.
std::size_t private_key_tail_end(std::string_view text, std::size_t from) {
  for (std::size_t pos = text.find("PRIVATE KEY", from); pos != std::string_view::npos;
       pos = text.find("PRIVATE KEY", pos + 1)) {
    std::size_t k = pos + 11;
    if (text.substr(k, 6) == " BLOCK") k += 6;
    if (text.substr(k, 5) == "-----") return k + 5;
  }
  return std::string_view::npos;
}

// The first four characters, then one '*' per hidden character.
std::string mask(std::string_view secret) {
  std::size_t shown = std::min<std::size_t>(4, secret.size());
  return std::string(secret.substr(0, shown)) + std::string(secret.size() - shown, '*');
}

// Length of the run of `pred` characters starting at `pos`.
template <class Pred>
std::size_t run_length(std::string_view s, std::size_t pos, Pred pred) {
  std::size_t end = pos;
  while (end < s.size() && pred(s[end])) ++end;
  return end - pos;
}

char lower_char(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::size_t find_ci(std::string_view hay, std::string_view needle, std::size_t from) {
  for (std::size_t i = from; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower_char(hay[i + k]) == needle[k]) ++k;
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

struct Hit {
  std::string rule;
  std::string message;
  std::size_t begin = 0;  // the secret's bytes in the line; empty for an armour line
  std::size_t end = 0;
  std::string severity = "high";
};

// AWS's documentation keys (AKIAIOSFODNN7EXAMPLE): still redacted, but reported low, as
// gitleaks leaves them out.
constexpr std::string_view kAwsExampleNote = " (AWS's documentation example: harmless as it is)";

class LineScanner {
 public:
  explicit LineScanner(std::string_view line) : line_(line) {}

  std::vector<Hit> scan() {
    // The prefixes gitleaks knows: user keys, temporary (STS) keys, and the rarer ones.
    for (std::string_view p : {"AKIA", "ASIA", "ABIA", "ACCA", "A3T"}) aws_key_ids(p);
    aws_secret_keys();
    private_keys();
    for (std::string_view p : {"ghp_", "gho_", "ghs_", "ghu_", "ghr_"}) github_tokens(p);
    github_fine_grained_tokens();
    slack_tokens();
    slack_app_tokens();
    slack_webhooks();
    model_api_keys();
    google_api_keys();
    for (std::string_view p : {"sk_live_", "rk_live_", "sk_prod_", "rk_prod_"}) stripe_keys(p);
    jwts();
    url_passwords();  // after the token rules: a token in a URL is reported once, by its own rule
    generic_assignments();  // last for the same reason
    return std::move(hits_);
  }

 private:
  bool boundary_before(std::size_t pos, bool (*pred)(char)) const {
    return pos == 0 || !pred(line_[pos - 1]);
  }

  // A key id: 20 of [A-Z0-9] starting with one of the known prefixes.
  void aws_key_ids(std::string_view prefix) {
    for (std::size_t pos = line_.find(prefix); pos != std::string_view::npos;
         pos = line_.find(prefix, pos + 1)) {
      if (!boundary_before(pos, is_upper_or_digit)) continue;
      if (run_length(line_, pos + prefix.size(), is_upper_or_digit) != 20 - prefix.size()) continue;
      bool example = line_.substr(pos, 20).find("EXAMPLE") != std::string_view::npos;
      hits_.push_back({"aws-access-key-id",
                       "AWS access key id " + mask(line_.substr(pos, 20)) +
                           (example ? std::string(kAwsExampleNote) : std::string()) +
                           ": rotate it and load it from the environment",
                       pos, pos + 20, example ? "low" : "high"});
    }
  }

  // aws_secret_access_key = "<40 base64 characters>" in any config or code syntax.
  void aws_secret_keys() {
    static constexpr std::string_view kKey = "aws_secret_access_key";
    for (std::size_t pos = find_ci(line_, kKey, 0); pos != std::string_view::npos;
         pos = find_ci(line_, kKey, pos + 1)) {
      std::size_t i = pos + kKey.size();
      auto skip = [&](std::string_view chars) {
        while (i < line_.size() && chars.find(line_[i]) != std::string_view::npos) ++i;
      };
      skip("\"' \t");
      if (i >= line_.size() || (line_[i] != '=' && line_[i] != ':')) continue;
      skip(":= \t\"'");
      if (run_length(line_, i, is_base64) != 40) continue;
      bool example = line_.substr(i, 40).find("EXAMPLE") != std::string_view::npos;
      hits_.push_back({"aws-secret-access-key",
                       "AWS secret access key " + mask(line_.substr(i, 40)) +
                           (example ? std::string(kAwsExampleNote) : std::string()) + ": rotate it",
                       i, i + 40, example ? "low" : "high"});
    }
  }

  void private_keys() {
    std::size_t begin = line_.find("-----BEGIN ");
    if (begin == std::string_view::npos) return;
    std::size_t end = private_key_tail_end(line_, begin);
    if (end == std::string_view::npos) return;
    // The armour line names the key type and holds no secret material.
    std::string_view armour = line_.substr(begin, end - begin);
    hits_.push_back({"private-key",
                     "private key block (" + std::string(armour) + "): remove it and rotate the key",
                     begin, begin});
  }

  void github_tokens(std::string_view prefix) {
    for (std::size_t pos = line_.find(prefix); pos != std::string_view::npos;
         pos = line_.find(prefix, pos + 1)) {
      if (!boundary_before(pos, is_alnum)) continue;
      std::size_t n = run_length(line_, pos + 4, is_alnum);
      if (n != 36) continue;
      hits_.push_back(
          {"github-token", "GitHub token " + mask(line_.substr(pos, 40)) + ": revoke it", pos, pos + 40});
    }
  }

  // github_pat_ followed by at least 22 of [A-Za-z0-9_] (the fine-grained format).
  void github_fine_grained_tokens() {
    static constexpr std::string_view kPrefix = "github_pat_";
    for (std::size_t pos = line_.find(kPrefix); pos != std::string_view::npos;
         pos = line_.find(kPrefix, pos + 1)) {
      if (!boundary_before(pos, is_word_char)) continue;
      std::size_t n = run_length(line_, pos + kPrefix.size(), is_word_char);
      if (n < 22) continue;
      std::size_t end = pos + kPrefix.size() + n;
      hits_.push_back({"github-token",
                       "GitHub token " + mask(line_.substr(pos, end - pos)) + ": revoke it", pos,
                       end});
    }
  }

  // sk-, sk-proj-, sk-ant-api03-... followed by at least 20 key characters in all.
  void model_api_keys() {
    for (std::size_t pos = line_.find("sk-"); pos != std::string_view::npos;
         pos = line_.find("sk-", pos + 1)) {
      if (!boundary_before(pos, is_base64url)) continue;
      std::size_t n = run_length(line_, pos + 3, is_base64url);
      std::string_view body = line_.substr(pos + 3, n);
      if (n < 20 || !looks_random(body)) continue;
      bool anthropic = body.substr(0, 4) == "ant-";
      hits_.push_back({anthropic ? "anthropic-api-key" : "openai-api-key",
                       std::string(anthropic ? "Anthropic" : "OpenAI") + " API key " +
                           mask(line_.substr(pos, 3 + n)) + ": revoke it",
                       pos, pos + 3 + n});
    }
  }

  // AIza followed by exactly 35 of [A-Za-z0-9_-].
  void google_api_keys() {
    for (std::size_t pos = line_.find("AIza"); pos != std::string_view::npos;
         pos = line_.find("AIza", pos + 1)) {
      if (!boundary_before(pos, is_base64url)) continue;
      if (run_length(line_, pos + 4, is_base64url) != 35) continue;
      hits_.push_back({"google-api-key",
                       "Google API key " + mask(line_.substr(pos, 39)) + ": restrict or delete it",
                       pos, pos + 39});
    }
  }

  // sk_live_ or rk_live_ followed by at least 16 of [A-Za-z0-9]; test-mode keys are not secret.
  void stripe_keys(std::string_view prefix) {
    for (std::size_t pos = line_.find(prefix); pos != std::string_view::npos;
         pos = line_.find(prefix, pos + 1)) {
      if (!boundary_before(pos, is_word_char)) continue;
      std::size_t n = run_length(line_, pos + prefix.size(), is_alnum);
      if (n < 16) continue;
      std::size_t end = pos + prefix.size() + n;
      hits_.push_back({"stripe-key",
                       "Stripe live key " + mask(line_.substr(pos, end - pos)) + ": roll it", pos,
                       end});
    }
  }

  // header.payload.signature: three base64url segments of 10 or more characters, the first
  // two JSON objects (so beginning eyJ, the encoding of '{"').
  void jwts() {
    for (std::size_t pos = line_.find("eyJ"); pos != std::string_view::npos;
         pos = line_.find("eyJ", pos + 1)) {
      if (!boundary_before(pos, is_jwt_char)) continue;
      std::size_t end = jwt_end(pos);
      if (end == std::string_view::npos) continue;
      hits_.push_back({"jwt", "JSON Web Token " + mask(line_.substr(pos, end - pos)) +
                                  ": a signed token grants access until it expires",
                       pos, end});
      pos = end - 1;
    }
  }

  std::size_t jwt_end(std::size_t k) const {
    for (int segment = 0; segment < 3; ++segment) {
      if (segment < 2 && line_.substr(k, 3) != "eyJ") return std::string_view::npos;
      std::size_t n = run_length(line_, k, is_base64url);
      if (n < 10) return std::string_view::npos;
      k += n;
      if (segment == 2) break;
      if (k >= line_.size() || line_[k] != '.') return std::string_view::npos;
      ++k;
    }
    return k;
  }

  // scheme://user:password@host: the password. Placeholders (${VAR}, {{var}}, <password>,
  // %(var)s) and already masked values (****) are not secrets.
  void url_passwords() {
    for (std::size_t pos = line_.find("://"); pos != std::string_view::npos;
         pos = line_.find("://", pos + 1)) {
      std::size_t scheme = scheme_start(pos);
      if (scheme == pos) continue;
      std::size_t authority = pos + 3;
      std::size_t end = authority;
      while (end < line_.size() && std::string_view("/?#\"'`<> \t").find(line_[end]) ==
                                       std::string_view::npos) {
        ++end;
      }
      std::size_t at = line_.substr(authority, end - authority).rfind('@');
      if (at == std::string_view::npos || authority + at + 1 >= end) continue;
      std::string_view userinfo = line_.substr(authority, at);
      std::size_t colon = userinfo.find(':');
      if (colon == std::string_view::npos) continue;
      std::size_t begin = authority + colon + 1;
      std::size_t stop = authority + at;
      if (begin == stop || placeholder(line_.substr(begin, stop - begin)) || covered(begin, stop)) {
        continue;
      }
      hits_.push_back({"url-password",
                       "password in a " + std::string(line_.substr(scheme, pos - scheme)) +
                           " URL: change it and load it from the environment",
                       begin, stop});
    }
  }

  // Where the URL scheme ending at `colon` begins (a letter, then letters, digits, + . -);
  // `colon` itself when there is none.
  std::size_t scheme_start(std::size_t colon) const {
    std::size_t k = colon;
    while (k > 0 && is_scheme_char(line_[k - 1])) --k;
    while (k < colon && !is_letter(line_[k])) ++k;
    return k;
  }

  static bool placeholder(std::string_view value) {
    if (value.find_first_not_of("*xX") == std::string_view::npos) return true;
    for (std::string_view open : {"$", "{", "<", "%(", "%s"}) {
      if (value.substr(0, open.size()) == open) return true;
    }
    return false;
  }

  bool covered(std::size_t begin, std::size_t end) const {
    return std::any_of(hits_.begin(), hits_.end(),
                       [&](const Hit& h) { return h.begin < end && begin < h.end; });
  }

  // xoxb-, xoxa-, xoxp-, xoxr-, xoxs- followed by at least 10 token characters.
  void slack_tokens() {
    for (std::size_t pos = line_.find("xox"); pos != std::string_view::npos;
         pos = line_.find("xox", pos + 1)) {
      if (!boundary_before(pos, is_alnum) || pos + 5 > line_.size()) continue;
      if (std::string_view("baprs").find(line_[pos + 3]) == std::string_view::npos) continue;
      if (line_[pos + 4] != '-') continue;
      std::size_t n = run_length(line_, pos + 5, is_slack_char);
      if (n < 10) continue;
      std::string_view token = line_.substr(pos, 5 + n);
      hits_.push_back({"slack-token",
                       "Slack token " + std::string(token.substr(0, 5)) +
                           std::string(token.size() - 5, '*') + ": revoke it",
                       pos, pos + token.size()});
    }
  }

  // xapp-1-A0123456789-1234567890123-abcdef...: an app-level token.
  void slack_app_tokens() {
    for (std::size_t pos = line_.find("xapp-"); pos != std::string_view::npos;
         pos = line_.find("xapp-", pos + 1)) {
      if (!boundary_before(pos, is_alnum)) continue;
      std::size_t n = run_length(line_, pos + 5, is_slack_char);
      if (n < 20) continue;
      hits_.push_back({"slack-token", "Slack app token xapp-" + std::string(n, '*') + ": revoke it",
                       pos, pos + 5 + n});
    }
  }

  // https://hooks.slack.com/services/T.../B.../...: whoever has the URL can post.
  void slack_webhooks() {
    static constexpr std::string_view kHost = "hooks.slack.com/";
    for (std::size_t pos = line_.find(kHost); pos != std::string_view::npos;
         pos = line_.find(kHost, pos + 1)) {
      std::size_t path = pos + kHost.size();
      std::size_t slash = line_.find('/', path);
      if (slash == std::string_view::npos || slash - path > 10) continue;
      std::size_t begin = slash + 1;
      std::size_t n = run_length(line_, begin, [](char c) { return is_base64(c) && c != '='; });
      if (n < 40) continue;
      hits_.push_back({"slack-webhook",
                       "Slack webhook URL " + std::string(line_.substr(pos, begin - pos)) +
                           std::string(n, '*') + ": delete the webhook and create a new one",
                       begin, begin + n});
    }
  }

  // name = "value" where the name says secret and the value looks random (the idea behind
  // gitleaks' generic-api-key): `password`, `secret`, `token`, `api_key`, `auth`... followed
  // by = : := or =>, then a quoted or bare value of 16 to 256 characters with high entropy.
  void generic_assignments() {
    // Every line of every file comes through here: lower-case it once and let find() search.
    std::string lowered(line_);
    for (char& c : lowered) c = lower_char(c);
    std::string_view low(lowered);
    for (std::string_view word : kSecretWords) {
      for (std::size_t pos = low.find(word); pos != std::string_view::npos; pos = low.find(word, pos + 1)) {
        if (word == "auth" && low.substr(pos, 6) == "author") continue;
        generic_assignment_at(pos);
      }
    }
  }

  static constexpr std::array<std::string_view, 9> kSecretWords = {
      "password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "access_key", "auth"};

  void generic_assignment_at(std::size_t keyword) {
    auto is_key_char = [](char c) { return is_word_char(c) || c == '-' || c == '.'; };
    std::size_t key_begin = keyword;
    while (key_begin > 0 && is_key_char(line_[key_begin - 1])) --key_begin;
    std::size_t key_end = keyword;
    while (key_end < line_.size() && is_key_char(line_[key_end])) ++key_end;
    std::string_view key = line_.substr(key_begin, key_end - key_begin);
    if (!secret_name(key)) return;
    std::size_t i = key_end;
    if (i < line_.size() && (line_[i] == '"' || line_[i] == '\'' || line_[i] == '`')) ++i;
    while (i < line_.size() && (line_[i] == ' ' || line_[i] == '\t')) ++i;
    std::size_t op = assignment_length(i);
    if (op == 0) return;
    i += op;
    while (i < line_.size() && (line_[i] == ' ' || line_[i] == '\t')) ++i;
    auto [begin, end] = value_bounds(i);
    if (end <= begin || covered(begin, end)) return;
    std::string_view value = line_.substr(begin, end - begin);
    bool quoted = begin > i;
    if (!looks_like_secret_value(value, quoted)) return;
    hits_.push_back({"generic-secret",
                     "value " + mask(value) + " assigned to " + std::string(key) +
                         " looks like a real secret: rotate it and load it from the environment "
                         "or a secret store",
                     begin, end, "medium"});  // a guess, unlike the rules that know a format
  }

  // Names that hold something about a secret, not the secret: token_url, password_hash...
  static bool secret_name(std::string_view key) {
    static constexpr std::string_view kNotSecret[] = {
        "_url", "_uri", "_path", "_file", "_name", "_type", "_hash", "_field", "_header",
        "_length", "_len", "_env", "_var", "_id", "_endpoint", "_prefix", "_format", "_pattern",
        "_regex", "_label", "_mode", "_method", "_count", "_dir", "_expiry", "_ttl"};
    for (std::string_view suffix : kNotSecret) {
      if (key.size() > suffix.size() &&
          find_ci(key.substr(key.size() - suffix.size()), suffix, 0) == 0) {
        return false;
      }
    }
    // Tokens that grant nothing: pagination cursors and idempotency keys (NextToken,
    // ClientToken, page_token...), as API examples show them by the hundred.
    static constexpr std::string_view kHarmlessTokens[] = {
        "nexttoken", "next_token", "next-token", "pagetoken", "page_token", "continuationtoken",
        "continuation_token", "clienttoken", "client_token", "changetoken", "requesttoken",
        "request_token", "idempotencytoken", "idempotency_token", "purchasetoken", "synctoken",
        "resumetoken", "paginationtoken", "starttoken", "cancellationtoken", "csrf_token",
        "csrftoken", "input_token", "inputtoken", "output_token", "outputtoken", "locktoken",
        "lock_token", "update_token", "updatetoken", "tasktoken", "task_token", "actiontoken",
        "verificationtoken", "verification_token"};
    for (std::string_view harmless : kHarmlessTokens) {
      if (find_ci(key, harmless, 0) != std::string_view::npos) return false;
    }
    return !key.empty();
  }

  // Length of the assignment operator at `i` (= : := =>), 0 when there is none. == and
  // != are comparisons; :: is a scope.
  std::size_t assignment_length(std::size_t i) const {
    if (i >= line_.size()) return 0;
    char next = i + 1 < line_.size() ? line_[i + 1] : '\0';
    if (line_[i] == '=') return next == '=' ? 0 : next == '>' ? 2 : 1;
    if (line_[i] == ':') return next == ':' ? 0 : next == '=' ? 2 : 1;
    return 0;
  }

  // The value starting at `i`: inside its quotes (which must close on the line), or a bare
  // word up to white space or a separator.
  std::pair<std::size_t, std::size_t> value_bounds(std::size_t i) const {
    if (i >= line_.size()) return {i, i};
    char q = line_[i];
    if (q == '"' || q == '\'' || q == '`') {
      std::size_t close = line_.find(q, i + 1);
      if (close == std::string_view::npos) return {i, i};
      return {i + 1, close};
    }
    std::size_t end = i;
    while (end < line_.size() && std::string_view(" \t;,)]}").find(line_[end]) == std::string_view::npos) {
      ++end;
    }
    return {i, end};
  }

  static bool looks_like_secret_value(std::string_view value, bool quoted) {
    if (value.size() < 16 || value.size() > 256) return false;
    for (char c : value) {
      if (!is_secret_char(c)) return false;
    }
    if (placeholder(value) || names_a_placeholder(value) || dotted_name(value)) return false;
    // Letters alone are a word or a CamelCase name (ExclusiveStartTableName); random
    // material of this length almost always holds a digit or a symbol.
    bool letters_only = std::all_of(value.begin(), value.end(), is_letter);
    if (letters_only) return false;
    if (!quoted && !has_digit(value)) return false;  // bare: an expression, unless it has digits
    return shannon_entropy(value) >= 3.5 && mixes_classes(value);
  }

  // Secrets are printable without white space, quotes or the punctuation of code and URLs.
  static bool is_secret_char(char c) {
    return is_alnum(c) || std::string_view("_-+/=.~!@#$%^&*?").find(c) != std::string_view::npos;
  }

  // Values written to say "put yours here".
  static bool names_a_placeholder(std::string_view value) {
    for (std::string_view word : {"example", "sample", "dummy", "placeholder", "changeme",
                                  "change_me", "change-me", "your", "redacted", "xxxx", "****",
                                  "replace", "insert", "${", "{{", "abcd", "1234", "a1b2"}) {
      if (find_ci(value, word, 0) != std::string_view::npos) return true;
    }
    return false;
  }

  static bool has_digit(std::string_view value) {
    return std::any_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  }

  // a.b.c where every part is an identifier: a reference (settings.SECRET_KEY,
  // process.env.TOKEN, DistributionList.NextMarker), not a literal.
  static bool dotted_name(std::string_view value) {
    if (value.find('.') == std::string_view::npos) return false;
    std::size_t start = 0;
    while (start <= value.size()) {
      std::size_t dot = std::min(value.find('.', start), value.size());
      std::string_view part = value.substr(start, dot - start);
      if (part.empty() || !is_letter(part[0]) || !std::all_of(part.begin(), part.end(), is_word_char)) {
        return false;
      }
      start = dot + 1;
    }
    return true;
  }

  // Bits per character.
  static double shannon_entropy(std::string_view value) {
    std::array<int, 256> counts{};
    for (char c : value) ++counts[static_cast<unsigned char>(c)];
    double bits = 0;
    const double n = static_cast<double>(value.size());
    for (int count : counts) {
      if (count == 0) continue;
      double p = count / n;
      bits -= p * std::log2(p);
    }
    return bits;
  }

  // Whether neighbouring characters change class (lower, upper, digit, symbol) in at least
  // 3 of 10 places, word separators (- _ .) skipped: random material does; words joined by
  // digits or separators ("password1234567890", "my-secret-token-value-1") do not, though
  // their entropy can be as high.
  static bool mixes_classes(std::string_view value) {
    auto cls = [](char c) {
      if (c >= 'a' && c <= 'z') return 0;
      if (c >= 'A' && c <= 'Z') return 1;
      if (c >= '0' && c <= '9') return 2;
      return 3;
    };
    std::size_t changes = 0;
    std::size_t counted = 0;
    int previous = -1;
    for (char c : value) {
      if (c == '-' || c == '_' || c == '.') continue;
      int k = cls(c);
      changes += previous >= 0 && k != previous;
      previous = k;
      ++counted;
    }
    return changes * 10 >= counted * 3;
  }

  std::string_view line_;
  std::vector<Hit> hits_;
};

class SecretsPass final : public Pass {
 public:
  std::string name() const override { return "secrets"; }
  std::string stage() const override { return "secrets"; }

  Status run(PassContext& ctx) override {
    FTI_ASSIGN_OR_RETURN(std::vector<detail::TreeFile> files, detail::pass_files(ctx));
    detail::FindingCap cap(ctx.report);
    for (const auto& f : files) {
      if (f.symlink || f.size > kMaxScanBytes) continue;
      FTI_ASSIGN_OR_RETURN(std::string text, detail::read_file(f.full));
      if (text.find('\0') != std::string::npos) continue;  // binary
      scan_text(cap, f.rel, text);
    }
    cap.finish();
    return ok_status();
  }

 private:
  static void scan_text(detail::FindingCap& report, const std::string& path, std::string_view text) {
    std::int64_t line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t nl = text.find('\n', start);
      std::size_t end = nl == std::string_view::npos ? text.size() : nl;
      ++line_no;
      for (Hit& hit : LineScanner(text.substr(start, end - start)).scan()) {
        report.add(Finding{path, line_no, "secret", std::move(hit.rule), std::move(hit.severity),
                           std::move(hit.message)});
      }
      start = end + 1;
    }
  }
};

}  // namespace

namespace detail {

bool line_has_secret(std::string_view line) { return !LineScanner(line).scan().empty(); }

std::vector<SecretSpan> secret_spans(std::string_view line) {
  std::vector<SecretSpan> spans;
  for (Hit& hit : LineScanner(line).scan()) {
    if (hit.end > hit.begin) spans.push_back({hit.begin, hit.end, std::move(hit.rule)});
  }
  return spans;
}

namespace {

// From a "-----BEGIN ... PRIVATE KEY-----" armour through its END armour (or the end of the
// text when it has none): the key material sits between them, on lines of its own or in
// one string with \n escapes.
void private_key_blocks(std::string_view text, std::vector<SecretSpan>& spans) {
  for (std::size_t begin = text.find("-----BEGIN "); begin != std::string_view::npos;
       begin = text.find("-----BEGIN ", begin + 1)) {
    std::size_t eol = text.find('\n', begin);
    std::size_t head = private_key_tail_end(text, begin);
    if (head == std::string_view::npos) return;
    if (eol != std::string_view::npos && head > eol) continue;  // not a private key armour
    std::size_t end = text.size();
    std::size_t end_armour = text.find("-----END ", head);
    if (end_armour != std::string_view::npos) {
      std::size_t tail = private_key_tail_end(text, end_armour);
      if (tail != std::string_view::npos) end = tail;
    }
    spans.push_back({begin, end, "private-key"});
    begin = end - 1;
  }
}

}  // namespace

std::vector<SecretSpan> secret_spans_in_text(std::string_view text) {
  std::vector<SecretSpan> spans;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nl = text.find('\n', start);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    for (SecretSpan& s : secret_spans(text.substr(start, end - start))) {
      spans.push_back({start + s.begin, start + s.end, std::move(s.rule)});
    }
    start = end + 1;
  }
  private_key_blocks(text, spans);
  std::sort(spans.begin(), spans.end(),
            [](const SecretSpan& a, const SecretSpan& b) { return a.begin < b.begin; });
  return spans;
}

}  // namespace detail

std::unique_ptr<Pass> make_secrets_pass() { return std::make_unique<SecretsPass>(); }

}  // namespace fti::cleanup
