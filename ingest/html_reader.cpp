// HTML: visible text only, via the Gumbo HTML5 parser (it recovers from malformed markup as browsers do).
#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>

#include "base/utf8.h"
#include "ingest/readers.h"

namespace ksearch {
namespace {

// Elements nested deeper than this lose their tags (their text stays): see limit_nesting().
constexpr std::size_t kMaxHtmlDepth = 512;

bool is_one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Elements without content, and elements the parser closes by itself when a sibling opens (<p>, <li>, <td>, ...):
// neither can nest deeply, so neither counts towards the depth.
bool opens_no_depth(std::string_view name) {
  return is_one_of(name, {"area",  "base",  "br",     "col",      "embed", "hr",     "img",      "input",   "link",
                          "meta",  "param", "source", "track",    "wbr",   "keygen", "basefont", "bgsound", "frame",
                          "p",     "li",    "dt",     "dd",       "tr",    "td",     "th",       "option",  "optgroup",
                          "thead", "tbody", "tfoot",  "colgroup", "rb",    "rt",     "rp",       "rtc"});
}

// Elements whose content is text up to their own end tag.
bool is_raw_text(std::string_view name) {
  return is_one_of(name, {"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"});
}

std::size_t find_ignoring_case(std::string_view text, std::string_view needle, std::size_t from) {
  const auto it =
      std::search(text.begin() + static_cast<std::ptrdiff_t>(std::min(from, text.size())), text.end(), needle.begin(),
                  needle.end(), [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
  return it == text.end() ? std::string_view::npos : static_cast<std::size_t>(it - text.begin());
}

// Gumbo's tree construction looks through the open elements at every tag, so markup nested N deep takes time in
// N² (200,000 levels: 80 s).  One linear pass over the markup drops the tags that would open an element deeper
// than kMaxHtmlDepth, and the end tags that would close them; the text between them stays, in order.  Returns
// nullopt when nothing is that deep (the markup is parsed as it is).
std::optional<std::string> limit_nesting(std::string_view html) {
  std::string out;
  std::size_t depth = 0, dropped = 0, foreign_depth = 0;  // foreign_depth: depth of the open <svg>/<math>, or 0
  std::size_t copied = 0;                                 // html[copied, pos) is still to be appended to `out`
  std::size_t pos = 0;
  while ((pos = html.find('<', pos)) != std::string_view::npos) {
    const std::size_t begin = pos;
    if (html.substr(pos, 4) == "<!--") {
      const std::size_t end = html.find("-->", pos + 4);
      pos = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    const bool closing = pos + 1 < html.size() && html[pos + 1] == '/';
    std::size_t name_end = pos + (closing ? 2 : 1);
    auto in_name = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; };
    while (name_end < html.size() && in_name(html[name_end])) ++name_end;
    const std::size_t name_begin = pos + (closing ? 2 : 1);
    if (name_end == name_begin) {  // "<!DOCTYPE", "<?xml", or a '<' in text
      pos = name_begin;
      if (pos < html.size() && (html[pos] == '!' || html[pos] == '?')) {
        const std::size_t end = html.find('>', pos);
        pos = end == std::string_view::npos ? html.size() : end + 1;
      }
      continue;
    }
    std::string name(html.substr(name_begin, name_end - name_begin));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    // The tag ends at the first '>' outside an attribute value.
    std::size_t end = name_end;
    char quote = 0, previous = 0;
    for (; end < html.size(); ++end) {
      const char c = html[end];
      if (quote != 0) {
        if (c == quote) quote = 0;
      } else if ((c == '"' || c == '\'') && previous == '=') {
        quote = c;
      } else if (c == '>') {
        break;
      }
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') previous = c;
    }
    pos = std::min(end + 1, html.size());
    const bool self_closing = previous == '/' && foreign_depth > 0;  // "<x/>" closes only in SVG and MathML
    if (opens_no_depth(name)) continue;
    bool drop = false;
    if (closing) {
      if (dropped > 0) {
        --dropped;
        drop = true;
      } else if (depth > 0) {
        if (depth == foreign_depth) foreign_depth = 0;
        --depth;
      }
    } else if (!self_closing) {
      if (depth >= kMaxHtmlDepth) {
        ++dropped;
        drop = true;
      } else {
        ++depth;
        if (foreign_depth == 0 && (name == "svg" || name == "math")) foreign_depth = depth;
      }
      if (is_raw_text(name)) {  // its content is no markup: go on at its end tag (after it, if dropped)
        const std::size_t close = find_ignoring_case(html, "</" + name, pos);
        pos = close == std::string_view::npos ? html.size() : close;
        if (drop && close != std::string_view::npos) {
          const std::size_t close_end = html.find('>', close);
          pos = close_end == std::string_view::npos ? html.size() : close_end + 1;
          --dropped;
        }
      }
    }
    if (drop) {
      out.append(html.substr(copied, begin - copied));
      copied = pos;
    }
  }
  if (copied == 0) return std::nullopt;
  out.append(html.substr(copied));
  return out;
}

bool is_hidden(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_META:
    case GUMBO_TAG_LINK:
    case GUMBO_TAG_HEAD:
      return true;
    default:
      return false;
  }
}

bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_BR:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_TR:
    case GUMBO_TAG_TABLE:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_CAPTION:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_TITLE:
      return true;
    default:
      return false;
  }
}

class TextCollector {
 public:
  void text(std::string_view piece, bool preformatted) {
    for (std::size_t pos = 0; pos < piece.size();) {
      const std::size_t start = pos;
      const char32_t c = utf8::decode(piece, pos);
      if (!preformatted && utf8::is_space(c) && c != 0xA0) {
        pending_space_ = true;
        continue;
      }
      if (c == '\n') {
        line_break();
        continue;
      }
      if (pending_space_ && !out_.empty() && out_.back() != '\n') out_ += ' ';
      pending_space_ = false;
      out_.append(piece.substr(start, pos - start));
    }
  }
  void cell_separator() {
    if (!out_.empty() && out_.back() != '\n' && out_.back() != '\t') out_ += '\t';
    pending_space_ = false;
  }
  void line_break() {
    while (!out_.empty() && out_.back() == ' ') out_.pop_back();
    if (!out_.empty() && out_.back() != '\n') out_ += '\n';
    pending_space_ = false;
  }
  std::string finish() {
    line_break();
    return std::move(out_);
  }

 private:
  std::string out_;
  bool pending_space_ = false;
};

void collect(const GumboNode* node, TextCollector& out, bool preformatted, int depth) {
  // limit_nesting() flattened deeper markup; elements it does not count (<li>, <td>) at most double the depth.
  if (static_cast<std::size_t>(depth) > 2 * kMaxHtmlDepth + 8) return;
  if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE || node->type == GUMBO_NODE_CDATA) {
    out.text(node->v.text.text, preformatted);
    return;
  }
  if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT && node->type != GUMBO_NODE_TEMPLATE)
    return;
  const GumboVector* children =
      node->type == GUMBO_NODE_DOCUMENT ? &node->v.document.children : &node->v.element.children;
  if (node->type == GUMBO_NODE_ELEMENT) {
    const GumboTag tag = node->v.element.tag;
    if (is_hidden(tag)) return;
    if (tag == GUMBO_TAG_PRE) preformatted = true;
    if (is_block(tag)) out.line_break();
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) out.cell_separator();
  }
  for (unsigned i = 0; i < children->length; ++i)
    collect(static_cast<const GumboNode*>(children->data[i]), out, preformatted, depth + 1);
  if (node->type == GUMBO_NODE_ELEMENT && is_block(node->v.element.tag)) out.line_break();
}

// The title lives in <head>, which is otherwise hidden.
std::string title_of(const GumboNode* node, int depth = 0) {
  if (depth > 64 || node->type != GUMBO_NODE_ELEMENT) return {};
  if (node->v.element.tag == GUMBO_TAG_TITLE) {
    TextCollector out;
    for (unsigned i = 0; i < node->v.element.children.length; ++i)
      collect(static_cast<const GumboNode*>(node->v.element.children.data[i]), out, false, 0);
    return out.finish();
  }
  for (unsigned i = 0; i < node->v.element.children.length; ++i)
    if (auto title = title_of(static_cast<const GumboNode*>(node->v.element.children.data[i]), depth + 1);
        !title.empty())
      return title;
  return {};
}

// The charset a <meta> declares in the first KiB, lower-cased ("" when none).
std::string declared_charset(std::string_view bytes) {
  std::string head(bytes.substr(0, 2048));
  std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
  const auto at = head.find("charset=");
  if (at == std::string::npos) return {};
  std::size_t begin = at + 8;
  while (begin < head.size() && (head[begin] == '"' || head[begin] == '\'' || head[begin] == ' ')) ++begin;
  std::size_t end = begin;
  while (end < head.size() &&
         (std::isalnum(static_cast<unsigned char>(head[end])) || head[end] == '-' || head[end] == '_'))
    ++end;
  return head.substr(begin, end - begin);
}

}  // namespace

Document read_html(std::string_view bytes) {
  Document document;
  document.format = "html";
  const std::string charset = declared_charset(bytes);
  std::string text;
  if (charset == "euc-kr" || charset == "cp949" || charset == "ks_c_5601-1987" || charset == "x-windows-949" ||
      charset == "uhc") {
    try {
      text = convert_to_utf8(bytes, "CP949");
      document.encoding = "cp949";
    } catch (const SkipFile&) {
      text = decode_text(bytes, document);
    }
  } else {
    text = decode_text(bytes, document);
  }
  if (auto limited = limit_nesting(text)) text = std::move(*limited);
  GumboOutput* output = gumbo_parse_with_options(&kGumboDefaultOptions, text.data(), text.size());
  if (output == nullptr) throw SkipFile("HTML could not be parsed");
  TextCollector collector;
  std::string title = title_of(output->root);
  collect(output->document, collector, false, 0);
  gumbo_destroy_output(&kGumboDefaultOptions, output);
  std::string body = collector.finish();
  document.text = title.empty() || body.starts_with(title) ? body : title + body;
  return document;
}

}  // namespace ksearch
