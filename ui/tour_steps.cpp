#include "ui/tour_steps.h"

#include <QDir>
#include <QFile>
#include <sstream>

#include "engine/attention/plan.h"
#include "engine/core/error.h"
#include "ui/mask_view.h"

namespace bb::ui {

namespace {

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  const size_t e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

uint8_t parseKinds(const std::string& v, const std::string& where) {
  if (v == "all") return kShowAll;
  if (v == "none") return 0;
  uint8_t mask = 0;
  std::istringstream in(v);
  std::string k;
  while (std::getline(in, k, ',')) {
    k = trim(k);
    if (k == "global") mask |= kShowGlobal;
    else if (k == "window") mask |= kShowWindow;
    else if (k == "random") mask |= kShowRandom;
    else throw bb::Error(where + ": unknown block kind '" + k + "' (expected global, window, random, all or none)");
  }
  return mask;
}

int toInt(const std::string& v, const std::string& where) {
  try {
    size_t used = 0;
    const int n = std::stoi(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    return n;
  } catch (const std::exception&) {
    throw bb::Error(where + ": '" + v + "' is not an integer");
  }
}

}  // namespace

TourStep parseTourStep(const QString& file, const std::string& text) {
  TourStep s;
  s.file = file;
  s.pattern.seq_len = 1024;
  std::istringstream in(text);
  std::string line;
  bool inHeader = false, headerDone = false;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    const std::string t = trim(line);
    const std::string where = file.toStdString() + ":" + std::to_string(lineNo);
    if (!headerDone && !inHeader && t == "<!-- step") {
      inHeader = true;
      continue;
    }
    if (inHeader) {
      if (t == "-->") {
        inHeader = false;
        headerDone = true;
        continue;
      }
      const size_t colon = t.find(':');
      if (colon == std::string::npos) throw bb::Error(where + ": expected 'key: value' in the step header");
      const std::string key = trim(t.substr(0, colon)), value = trim(t.substr(colon + 1));
      if (key == "kinds") s.kinds = parseKinds(value, where);
      else if (key == "length") s.pattern.seq_len = toInt(value, where);
      else if (key == "block") s.pattern.block = toInt(value, where);
      else if (key == "random") s.pattern.num_random = toInt(value, where);
      else if (key == "heads") s.pattern.heads = toInt(value, where);
      else if (key == "layer") s.pattern.layer = toInt(value, where);
      else if (key == "attention") s.pattern.configured = bb::attn::parse_attention_type(value);
      else if (key == "mode") s.pattern.mode = bb::attn::parse_random_blocks(value);
      else if (key == "focus") s.focusQuery = value == "none" ? -1 : toInt(value, where);
      else if (key == "caption") s.caption = value;
      else throw bb::Error(where + ": unknown step key '" + key + "'");
      continue;
    }
    if (s.title.empty() && t.rfind("# ", 0) == 0) s.title = t.substr(2);
    s.body += line + "\n";
  }
  if (inHeader) throw bb::Error(file.toStdString() + ": the step header is not closed with -->");
  if (s.title.empty()) throw bb::Error(file.toStdString() + ": the step has no '# ' title");
  validate(s.pattern);
  return s;
}

std::vector<TourStep> loadTourSteps() {
  std::vector<TourStep> steps;
  const QDir dir(QStringLiteral(":/tour"));
  for (const QString& name : dir.entryList({QStringLiteral("*.md")}, QDir::Files, QDir::Name)) {
    QFile f(dir.filePath(name));
    if (!f.open(QIODevice::ReadOnly)) continue;
    steps.push_back(parseTourStep(name, f.readAll().toStdString()));
  }
  return steps;
}

}  // namespace bb::ui
