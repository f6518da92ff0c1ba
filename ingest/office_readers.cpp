// DOCX (WordprocessingML) and HWPX (OWPML): ZIP containers of XML.  One output line per paragraph, in document order;
// a paragraph's own text comes first, then the paragraphs nested in it (table cells row by row, text boxes).
#include <pugixml.hpp>

#include <algorithm>
#include <cstring>
#include <new>
#include <regex>

#include "base/utf8.h"
#include "ingest/readers.h"
#include "ingest/zip_archive.h"

namespace ksearch {
namespace {

std::string_view local_name(const pugi::xml_node& node) {
  std::string_view name = node.name();
  const auto colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_document parse_xml(const std::string& text, const char* what) {
  pugi::xml_document document;
  const auto result = document.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata);
  if (result.status == pugi::status_out_of_memory) throw std::bad_alloc();  // the indexer skips the file for it
  if (!result) throw SkipFile(std::string("damaged XML in ") + what + ": " + result.description());
  return document;
}

// --- DOCX ---------------------------------------------------------------------------------------------------------

class DocxWriter {
 public:
  std::string text;

  void block(const pugi::xml_node& node, int depth) {
    if (depth > 64) return;
    for (const auto& child : node.children()) {
      const auto name = local_name(child);
      if (name == "p") {
        paragraph(child, depth);
      } else if (name == "tbl" || name == "tr" || name == "tc" || name == "sdt" || name == "sdtContent" ||
                 name == "customXml" || name == "txbxContent") {
        block(child, depth + 1);
      }
    }
  }

 private:
  // A paragraph's runs; text boxes inside it follow as their own paragraphs.
  void paragraph(const pugi::xml_node& node, int depth) {
    std::string line;
    std::vector<pugi::xml_node> nested;
    collect_runs(node, line, nested, depth);
    text += line;
    text += '\n';
    for (const auto& box : nested) block(box, depth + 1);
  }

  void collect_runs(const pugi::xml_node& node, std::string& line, std::vector<pugi::xml_node>& nested, int depth) {
    if (depth > 64) return;
    for (const auto& child : node.children()) {
      const auto name = local_name(child);
      if (name == "t")
        line += child.text().get();
      else if (name == "tab")
        line += '\t';
      else if (name == "br" || name == "cr")
        line += '\n';
      else if (name == "noBreakHyphen")
        line += '-';
      else if (name == "txbxContent")
        nested.push_back(child);
      else if (name == "delText" || name == "instrText" || name == "pPr" || name == "rPr")
        continue;
      else
        collect_runs(child, line, nested, depth + 1);  // r, hyperlink, ins, smartTag, fldSimple, AlternateContent…
    }
  }
};

// --- HWPX ---------------------------------------------------------------------------------------------------------

class HwpxWriter {
 public:
  std::string text;

  void paragraph(const pugi::xml_node& node, int depth) {
    if (depth > 64) return;
    std::string line;
    std::vector<pugi::xml_node> nested;
    collect(node, line, nested, depth);
    text += line;
    text += '\n';
    for (const auto& inner : nested) paragraph(inner, depth + 1);
  }

  void section(const pugi::xml_node& root) {
    for (const auto& child : root.children())
      if (local_name(child) == "p") paragraph(child, 0);
  }

 private:
  void collect(const pugi::xml_node& node, std::string& line, std::vector<pugi::xml_node>& nested, int depth) {
    if (depth > 128) return;
    for (const auto& child : node.children()) {
      if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) continue;
      const auto name = local_name(child);
      if (name == "t") {
        text_run(child, line);
      } else if (name == "p") {
        nested.push_back(child);  // inside tables (tc/subList), text boxes, notes
      } else {
        collect(child, line, nested, depth + 1);
      }
    }
  }

  static void text_run(const pugi::xml_node& node, std::string& line) {
    for (const auto& part : node.children()) {
      if (part.type() == pugi::node_pcdata || part.type() == pugi::node_cdata) {
        line += part.value();
        continue;
      }
      const auto name = local_name(part);
      if (name == "tab")
        line += '\t';
      else if (name == "lineBreak")
        line += '\n';
      else if (name == "fwSpace" || name == "nbSpace")
        line += ' ';
      else if (name == "hyphen")
        line += '-';
      else
        text_run(part, line);  // e.g. markpenBegin wrappers carry text inside
    }
  }
};

int section_number(const std::string& name) {
  static const std::regex pattern(R"(Contents/section(\d+)\.xml)", std::regex::icase);
  std::smatch match;
  return std::regex_match(name, match, pattern) ? std::stoi(match[1]) : -1;
}

}  // namespace

Document read_docx(std::string_view bytes, const DocumentLimits& limits) {
  const ZipArchive archive(bytes);
  UnpackBudget budget(limits);
  const auto xml = archive.read("word/document.xml", budget);
  if (!xml) throw SkipFile("not a DOCX document (no word/document.xml)");
  const pugi::xml_document document = parse_xml(*xml, "word/document.xml");
  DocxWriter writer;
  for (const auto& root : document.children())
    for (const auto& child : root.children())
      if (local_name(child) == "body") writer.block(child, 0);
  Document out;
  out.format = "docx";
  out.text = utf8::sanitize(writer.text);
  return out;
}

Document read_hwpx(std::string_view bytes, const DocumentLimits& limits) {
  const ZipArchive archive(bytes);
  UnpackBudget budget(limits);
  std::vector<std::pair<int, std::string>> sections;
  for (const auto& name : archive.names())
    if (const int number = section_number(name); number >= 0) sections.emplace_back(number, name);
  if (sections.empty()) throw SkipFile("not an HWPX document (no Contents/section*.xml)");
  std::sort(sections.begin(), sections.end());
  HwpxWriter writer;
  for (const auto& [number, name] : sections) {
    const pugi::xml_document section = parse_xml(*archive.read(name, budget), name.c_str());
    for (const auto& root : section.children())
      if (local_name(root) == "sec") writer.section(root);
  }
  Document out;
  out.format = "hwpx";
  out.text = utf8::sanitize(writer.text);
  return out;
}

}  // namespace ksearch
