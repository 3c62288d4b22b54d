#include "ui/text_utils.h"

#include <cmath>
#include <cstdio>

#include "ui/lab_session.h"

namespace bb::ui {

std::string displayToken(const LabDocument& doc, int64_t i, int maxChars) {
  std::string t = doc.isSpecial(i) ? doc.encoding.pieces.at(size_t(i)) : doc.tokenText(i);
  std::string out;
  int chars = 0;
  for (size_t p = 0; p < t.size(); ++p) {
    const unsigned char c = static_cast<unsigned char>(t[p]);
    if ((c & 0xC0) != 0x80 && ++chars > maxChars) {
      out += "…";
      break;
    }
    if (c == '\n') out += "¶";
    else if (c == '\t' || c == '\r') out += ' ';
    else out += char(c);
  }
  return out.empty() ? std::string("·") : out;
}

std::string jsonString(const std::string& s) {
  std::string o = "\"";
  for (char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      o += '\\';
      o += ch;
    } else if (c == '\n') {
      o += "\\n";
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      o += buf;
    } else {
      o += ch;
    }
  }
  return o + "\"";
}

std::string formatNumber(double v, int digits) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string formatFlops(double f) {
  const char* units[] = {"FLOP", "kFLOP", "MFLOP", "GFLOP", "TFLOP", "PFLOP"};
  int u = 0;
  while (std::fabs(f) >= 1000.0 && u < 5) {
    f /= 1000.0;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, f >= 100 ? "%.0f %s" : (f >= 10 ? "%.1f %s" : "%.2f %s"), f, units[u]);
  return buf;
}

std::string formatBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(b) >= 1024.0 && u < 4) {
    b /= 1024.0;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, b >= 100 ? "%.0f %s" : (b >= 10 ? "%.1f %s" : "%.2f %s"), b, units[u]);
  return buf;
}

std::string formatDuration(double seconds) {
  char buf[32];
  if (seconds < 1.0) std::snprintf(buf, sizeof buf, "%.0f ms", seconds * 1000.0);
  else std::snprintf(buf, sizeof buf, seconds < 10 ? "%.2f s" : "%.1f s", seconds);
  return buf;
}

std::string formatProbability(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, p >= 0.001 || p == 0.0 ? "%.3f" : "%.1e", p);
  return buf;
}

}  // namespace bb::ui
