// The Documents panel driven like a user, under Xvfb: drop a .txt, a .md and a real PDF (written
// here with QPdfWriter) on the window and check the text and token count against the engine's
// tokenizer; summarize with a tiny BigBird-Pegasus (random weights, real vocabulary) and compare
// with the engine called directly; cancel mid-way; export; and bad inputs (binary, empty, corrupt
// PDF, 50 MB, invalid UTF-8, UTF-16) give a clear message while the app keeps working.
#include <QClipboard>
#include <QCryptographicHash>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QMimeData>
#include <QPainter>
#include <QPdfWriter>
#include <QPlainTextEdit>
#include <QSignalSpy>
#include <QSurfaceFormat>
#include <QTemporaryDir>
#include <QtTest>
#include <memory>

#include "engine/generate/summarizer.h"
#include "engine/io/atomic_file.h"
#include "engine/io/safetensors.h"
#include "engine/models/fill_mask.h"
#include "engine/models/pegasus_random_weights.h"
#include "engine/models/random_weights.h"
#include "engine/tokenize/tokenizer.h"
#include "ui/documents/documents_panel.h"
#include "ui/documents/model_outputs_view.h"
#include "ui/imgui_widget.h"
#include "ui/lab_paths.h"
#include "ui/lab_random_model.h"
#include "ui/lab_session.h"
#include "ui/main_window.h"
#include "ui/task_manager.h"

using namespace bb::ui;
using bb::ui::documents::DocumentsPanel;

namespace {

const char* kSentence = "BigBird reads long documents with sparse attention. ";

void writeBytes(const QString& path, const QByteArray& bytes) {
  QFile f(path);
  QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
  QCOMPARE(f.write(bytes), bytes.size());
}

// A two-page PDF with real text objects (QPdfWriter embeds the font), as any office suite writes.
void writePdf(const QString& path, const QStringList& pages) {
  QPdfWriter pdf(path);
  pdf.setPageSize(QPageSize(QPageSize::A4));
  pdf.setResolution(72);
  QPainter p(&pdf);
  QFont font(QStringLiteral("DejaVu Sans"));
  font.setPointSize(12);
  p.setFont(font);
  for (int i = 0; i < pages.size(); ++i) {
    if (i > 0) pdf.newPage();
    p.drawText(QRect(40, 40, 500, 700), Qt::TextWordWrap, pages[i]);
  }
}

// A one-page PDF encrypted with the standard security handler (revision 2, RC4 40-bit) and a user
// password, as "protect with password" in an office suite makes it: it cannot be opened without it.
QByteArray rc4(const QByteArray& key, const QByteArray& data) {
  unsigned char s[256];
  for (int i = 0; i < 256; ++i) s[i] = static_cast<unsigned char>(i);
  for (int i = 0, j = 0; i < 256; ++i) {
    j = (j + s[i] + static_cast<unsigned char>(key[i % key.size()])) & 255;
    std::swap(s[i], s[j]);
  }
  QByteArray out(data.size(), Qt::Uninitialized);
  for (int n = 0, i = 0, j = 0; n < data.size(); ++n) {
    i = (i + 1) & 255;
    j = (j + s[i]) & 255;
    std::swap(s[i], s[j]);
    out[n] = char(data[n] ^ char(s[(s[i] + s[j]) & 255]));
  }
  return out;
}

QByteArray encryptedPdf() {
  static const unsigned char kPad[32] = {0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E,
                                         0x56, 0xFF, 0xFA, 0x01, 0x08, 0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68,
                                         0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A};
  const QByteArray pad(reinterpret_cast<const char*>(kPad), 32);
  auto padded = [&](const QByteArray& pw) { return (pw + pad).left(32); };
  const QByteArray user = "secret", owner = "owner", id = QByteArray(16, '\x42');
  const int32_t permissions = -4;
  const QByteArray o = rc4(QCryptographicHash::hash(padded(owner), QCryptographicHash::Md5).left(5), padded(user));
  QByteArray p(4, 0);
  for (int i = 0; i < 4; ++i) p[i] = char((uint32_t(permissions) >> (8 * i)) & 255);
  const QByteArray key = QCryptographicHash::hash(padded(user) + o + p + id, QCryptographicHash::Md5).left(5);
  const QByteArray u = rc4(key, pad);

  QByteArray pdf = "%PDF-1.4\n";
  QList<int> offsets;
  auto object = [&](const QByteArray& body) {
    offsets << int(pdf.size());
    pdf += QByteArray::number(offsets.size()) + " 0 obj\n" + body + "\nendobj\n";
  };
  object("<< /Type /Catalog /Pages 2 0 R >>");
  object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
  object("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>");
  const QByteArray content = "BT ET";
  object("<< /Length " + QByteArray::number(content.size()) + " >>\nstream\n" + content + "\nendstream");
  object("<< /Filter /Standard /V 1 /R 2 /O <" + o.toHex() + "> /U <" + u.toHex() + "> /P " +
         QByteArray::number(permissions) + " >>");
  const int xref = int(pdf.size());
  pdf += "xref\n0 " + QByteArray::number(offsets.size() + 1) + "\n0000000000 65535 f \n";
  for (int off : offsets) pdf += QByteArray::number(off).rightJustified(10, '0') + " 00000 n \n";
  pdf += "trailer\n<< /Size " + QByteArray::number(offsets.size() + 1) + " /Root 1 0 R /Encrypt 5 0 R /ID [<" +
         id.toHex() + "> <" + id.toHex() + ">] >>\nstartxref\n" + QByteArray::number(xref) + "\n%%EOF\n";
  return pdf;
}

std::string writeTinyPegasus(const QString& dir) {
  QDir().mkpath(dir);
  const bb::ModelConfig c = bb::pegasus_shape_config("pegasus-tiny");
  bb::io::write_file_atomic(dir.toStdString() + "/config.json", bb::config_to_json(c));
  const bb::ParameterStore params = bb::random_pegasus_parameters(c, 7);
  bb::io::SafetensorsWriter w;
  for (const std::string& n : params.names()) w.add(n, params.get(n));
  w.write(dir.toStdString() + "/model.safetensors");
  return dir.toStdString();
}

// The tiny random BigBird (gpt2.model vocabulary) with all three heads: MLM, classification, QA.
void writeEncoderWithHeads(const QString& dir) {
  QDir().mkpath(dir);
  bb::ModelConfig c = tinyGpt2Config(1024);
  c.id2label = {{0, "negative"}, {1, "positive"}};
  bb::ParameterStore p = bb::random_bigbird_mlm_parameters(c, 5);
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  uint32_t state = 12345;
  auto random = [&](bb::Shape shape) {
    bb::Tensor t(std::move(shape));
    for (int64_t i = 0; i < t.numel(); ++i) {
      state = state * 1664525u + 1013904223u;
      t.data()[i] = (float(state >> 8) / float(1 << 24) - 0.5f) * 0.2f;
    }
    return t;
  };
  p.set("classifier.dense.weight", random({H, H}));
  p.set("classifier.dense.bias", random({H}));
  p.set("classifier.out_proj.weight", random({2, H}));
  p.set("classifier.out_proj.bias", random({2}));
  p.set("qa_classifier.intermediate.dense.weight", random({I, H}));
  p.set("qa_classifier.intermediate.dense.bias", random({I}));
  p.set("qa_classifier.output.dense.weight", random({H, I}));
  p.set("qa_classifier.output.dense.bias", random({H}));
  p.set("qa_classifier.output.LayerNorm.weight", random({H}));
  p.set("qa_classifier.output.LayerNorm.bias", random({H}));
  p.set("qa_classifier.qa_outputs.weight", random({2, H}));
  p.set("qa_classifier.qa_outputs.bias", random({2}));
  bb::io::SafetensorsWriter w;
  for (const std::string& n : p.names()) w.add(n, p.get(n));
  w.write(dir.toStdString() + "/model.safetensors");
  bb::io::write_file_atomic(dir.toStdString() + "/config.json", bb::config_to_json(c));
}

}  // namespace

class TstDocuments : public QObject {
  Q_OBJECT

 public:
  static void initMain() {
    QSurfaceFormat::setDefaultFormat(ImGuiWidget::surfaceFormat());
    qputenv("XDG_CONFIG_HOME", QDir::temp().filePath(QStringLiteral("bigbird-documents-test-config")).toUtf8());
  }

 private slots:
  void initTestCase();
  void cleanupTestCase() { window_.reset(); }
  void droppedTextFileShowsTextAndTokens();
  void droppedMarkdownFileShowsTextAndTokens();
  void droppedPdfKeepsPages();
  void htmlDropsScriptsAndTags();
  void pastedAndDroppedText();
  void longDocumentMarksTheTruncatedPart();
  void badInputsGiveAClearMessage_data();
  void badInputsGiveAClearMessage();
  void summarizeWithoutModelExplains();
  void modelWithoutMatchingTokenizerIsRefused();
  void summarizeMatchesTheEngineAndExports();
  void summaryCanBeCancelledMidway();
  void encoderOutputsOnTheDocument();

 private:
  void waitIdle() { QVERIFY2(window_->tasks()->waitForIdle(120000), "tasks did not finish"); }
  DocumentsPanel* panel() const { return window_->documentsPanel(); }
  void drop(QMimeData* mime) {
    QDragEnterEvent enter(QPoint(60, 60), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    enter.setAccepted(false);  // events start accepted: make the window say yes
    QCoreApplication::sendEvent(window_.get(), &enter);
    QVERIFY(enter.isAccepted());
    QDropEvent dropEvent(QPointF(60, 60), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    dropEvent.setAccepted(false);
    QCoreApplication::sendEvent(window_.get(), &dropEvent);
    QVERIFY(dropEvent.isAccepted());
  }
  void dropFile(const QString& path) {
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(path)});
    drop(&mime);
  }
  int64_t engineTokens(const std::string& text) const { return int64_t(gpt2_->encode(text).ids.size()); }
  void checkShown(const std::string& text) {
    const documents::DocumentText* doc = panel()->document();
    QVERIFY2(doc, qPrintable(panel()->errorText()));
    QCOMPARE(QString::fromStdString(doc->text), QString::fromStdString(text));
    QCOMPARE(panel()->sourceView()->toPlainText(), QString::fromStdString(text));
    const int64_t tokens = engineTokens(text);
    QCOMPARE(panel()->budget().tokens, tokens);
    QVERIFY2(panel()->budgetText().contains(QString::number(tokens)), qPrintable(panel()->budgetText()));
    QVERIFY(panel()->errorText().isEmpty());
  }

  QTemporaryDir dir_;
  QString pegasusDir_;
  std::unique_ptr<MainWindow> window_;
  std::unique_ptr<bb::tok::Tokenizer> gpt2_;
};

void TstDocuments::initTestCase() {
  QString why;
  QVERIFY2(ImGuiWidget::openGLAvailable(&why), qPrintable(why));
  QVERIFY(dir_.isValid());
  pegasusDir_ = dir_.filePath(QStringLiteral("tiny-pegasus"));
  writeTinyPegasus(pegasusDir_);
  gpt2_ = bb::tok::load_tokenizer(bundledVocab(QStringLiteral("gpt2.model")).toStdString());
  LabOptions o;
  o.useSettings = false;
  o.autoLoadModel = false;
  window_ = std::make_unique<MainWindow>(o);
  window_->resize(1400, 900);
  window_->show();
  QVERIFY(QTest::qWaitForWindowExposed(window_.get()));
  QVERIFY(panel());
  // Only the Documents dock is under test: the lab's OpenGL views need not render every change.
  for (QDockWidget* d : window_->findChildren<QDockWidget*>())
    if (d->objectName() != QLatin1String(MainWindow::kDocuments)) d->hide();
}

void TstDocuments::droppedTextFileShowsTextAndTokens() {
  const QString path = dir_.filePath(QStringLiteral("notes.txt"));
  const std::string text = "Sparse attention lets BigBird read 4096 tokens.\nCafé, naïve, 東京 and 😀 are fine.\n";
  writeBytes(path, QByteArray::fromStdString(text));
  dropFile(path);
  waitIdle();
  checkShown(text);
  QCOMPARE(panel()->document()->format, QStringLiteral("text"));
  QVERIFY(!panel()->budget().truncated());
  QCOMPARE(panel()->recentFiles().paths().value(0), QFileInfo(path).absoluteFilePath());
  // The same text reached the Attention Lab's views.
  QVERIFY(window_->session()->document());
  QCOMPARE(QString::fromStdString(window_->session()->document()->text), QString::fromStdString(text));
}

void TstDocuments::droppedMarkdownFileShowsTextAndTokens() {
  const QString path = dir_.filePath(QStringLiteral("readme.md"));
  const std::string text = "# BigBird\n\n* global tokens\n* a sliding window\n* random blocks\n";
  writeBytes(path, "\xef\xbb\xbf" + QByteArray::fromStdString(text));  // a BOM is not part of the text
  dropFile(path);
  waitIdle();
  checkShown(text);
  QCOMPARE(panel()->document()->format, QStringLiteral("markdown"));
}

void TstDocuments::droppedPdfKeepsPages() {
  const QString path = dir_.filePath(QStringLiteral("paper.pdf"));
  writePdf(path, {QStringLiteral("First page about sparse attention."), QStringLiteral("Second page about random blocks.")});
  dropFile(path);
  waitIdle();
  const documents::DocumentText* doc = panel()->document();
  QVERIFY2(doc, qPrintable(panel()->errorText()));
  QCOMPARE(doc->format, QStringLiteral("pdf"));
  QCOMPARE(doc->pages(), 2);
  const QString text = QString::fromStdString(doc->text);
  const int first = text.indexOf(QStringLiteral("First page about sparse attention."));
  const int second = text.indexOf(QStringLiteral("Second page about random blocks."));
  QVERIFY2(first >= 0 && second > first, qPrintable(text));
  QCOMPARE(doc->pageAt(first), 1);
  QCOMPARE(doc->pageAt(second), 2);
  QCOMPARE(panel()->budget().tokens, engineTokens(doc->text));
  QVERIFY(panel()->budgetText().contains(QStringLiteral("2 pages")));
  QCOMPARE(panel()->sourceView()->toPlainText(), text);
}

void TstDocuments::htmlDropsScriptsAndTags() {
  const QString path = dir_.filePath(QStringLiteral("page.html"));
  writeBytes(path, "<html><head><title>T</title><style>p { color: red }</style><script>var hidden = 1;</script></head>"
                   "<body><h1>Block sparse</h1><p>Global &amp; window tokens.</p></body></html>");
  panel()->openFile(path);
  waitIdle();
  const documents::DocumentText* doc = panel()->document();
  QVERIFY2(doc, qPrintable(panel()->errorText()));
  QCOMPARE(doc->format, QStringLiteral("html"));
  QCOMPARE(QString::fromStdString(doc->text), QStringLiteral("Block sparse\nGlobal & window tokens."));
}

void TstDocuments::pastedAndDroppedText() {
  QMimeData mime;
  mime.setText(QStringLiteral("Dropped words about attention."));
  drop(&mime);
  waitIdle();
  QVERIFY(panel()->document());
  QCOMPARE(panel()->document()->label, QStringLiteral("Dropped text"));
  checkShown("Dropped words about attention.");

  QGuiApplication::clipboard()->setText(QStringLiteral("Pasted words."));
  panel()->pasteFromClipboard();
  waitIdle();
  QCOMPARE(panel()->document()->label, QStringLiteral("Pasted text"));
  checkShown("Pasted words.");
}

void TstDocuments::longDocumentMarksTheTruncatedPart() {
  std::string text;
  const int64_t perSentence = engineTokens(std::string(kSentence) + kSentence) - engineTokens(kSentence);
  for (int64_t i = 0; i < 5000 / perSentence + 1; ++i) text += kSentence;
  QVERIFY(engineTokens(text) > 4096);
  const QString path = dir_.filePath(QStringLiteral("long.txt"));
  writeBytes(path, QByteArray::fromStdString(text));
  panel()->openFile(path);
  waitIdle();
  const documents::TokenBudget& b = panel()->budget();
  QCOMPARE(b.limit, int64_t(4096));
  QVERIFY(b.truncated());
  // The window holds [CLS] + 4094 text tokens + [SEP]: the cut starts at text token 4095.
  const bb::tok::Encoding e = gpt2_->encode(text);
  QCOMPARE(b.cutChar, e.offsets[4095].first);
  QCOMPARE(b.droppedTokens(), int64_t(e.ids.size()) - 4096);
  QVERIFY2(panel()->budgetText().contains(QStringLiteral("cut")), qPrintable(panel()->budgetText()));
  // The truncated part is marked in the view: one selection from the cut to the end.
  const QList<QTextEdit::ExtraSelection> marks = panel()->sourceView()->extraSelections();
  QCOMPARE(int(marks.size()), 1);
  QCOMPARE(marks[0].cursor.selectionStart(), int(b.cutChar));  // ASCII text: code points = UTF-16
  QCOMPARE(marks[0].cursor.selectionEnd(), int(panel()->sourceView()->toPlainText().size()));
}

void TstDocuments::badInputsGiveAClearMessage_data() {
  QTest::addColumn<QString>("name");
  QTest::addColumn<QByteArray>("bytes");
  QTest::addColumn<QString>("expected");
  QTest::newRow("binary") << "image.txt" << QByteArray("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16) << "binary file";
  QTest::newRow("empty") << "empty.txt" << QByteArray() << "empty";
  QTest::newRow("whitespace") << "blank.md" << QByteArray(" \n\t \n") << "only whitespace";
  QTest::newRow("corrupt pdf") << "broken.pdf" << QByteArray("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R") << "corrupt";
  QTest::newRow("encrypted pdf") << "locked.pdf" << encryptedPdf() << "encrypted with a password";
  QTest::newRow("not a pdf") << "fake.pdf" << QByteArray("hello") << "not a PDF";
  QTest::newRow("latin-1") << "latin1.txt" << QByteArray("caf\xe9 cr\xe8me") << "not valid UTF-8";
  QTest::newRow("utf-16") << "wide.txt" << QByteArray("\xff\xfeh\0i\0", 6) << "UTF-16";
  QTest::newRow("50 MB") << "huge.txt" << QByteArray() << "limit";
}

void TstDocuments::badInputsGiveAClearMessage() {
  QFETCH(QString, name);
  QFETCH(QByteArray, bytes);
  QFETCH(QString, expected);
  const QString good = dir_.filePath(QStringLiteral("good.txt"));
  writeBytes(good, "A good document.");
  panel()->openFile(good);
  waitIdle();
  QVERIFY(panel()->document());

  const QString path = dir_.filePath(name);
  if (name == QStringLiteral("huge.txt")) {
    QByteArray line(1023, 'a');
    line.append('\n');
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
    for (int i = 0; i < 50 * 1024; ++i) f.write(line);
  } else {
    writeBytes(path, bytes);
  }
  QSignalSpy failed(panel(), &DocumentsPanel::documentFailed);
  dropFile(path);
  waitIdle();
  QCOMPARE(int(failed.size()), 1);
  const QString error = panel()->errorText();
  QVERIFY2(error.contains(expected, Qt::CaseInsensitive), qPrintable(error));
  QVERIFY2(error.contains(name), qPrintable(error));
  QVERIFY(!error.contains(QLatin1Char('\n')));
  // The app keeps working: the previous document is still shown, and the next one opens.
  QCOMPARE(panel()->document()->label, QStringLiteral("good.txt"));
  panel()->openText(QStringLiteral("After"), QStringLiteral("Still working."));
  waitIdle();
  QCOMPARE(panel()->document()->label, QStringLiteral("After"));
  QVERIFY(panel()->errorText().isEmpty());
}

void TstDocuments::summarizeWithoutModelExplains() {
  QVERIFY(!panel()->summaryModel());
  panel()->openText(QStringLiteral("Doc"), QStringLiteral("Some text to summarize."));
  waitIdle();
  panel()->summarize();
  QVERIFY(!panel()->summarizing());
  QVERIFY2(panel()->errorText().contains(QStringLiteral("No summarization model")), qPrintable(panel()->errorText()));
}

void TstDocuments::modelWithoutMatchingTokenizerIsRefused() {
  // The golden tiny Pegasus has a 96-entry vocabulary and no tokenizer of its own: it cannot read
  // text tokenized with pegasus.model, and the panel says so instead of failing mid-run.
  QSignalSpy changed(panel(), &DocumentsPanel::summaryModelChanged);
  panel()->setSummaryModelDir(QStringLiteral(BIGBIRD_TEST_DATA "/generation/bbp_tiny_b16r3_s11"));
  waitIdle();
  QCOMPARE(int(changed.size()), 1);
  QVERIFY(!panel()->summaryModel());
  QVERIFY2(panel()->errorText().contains(QStringLiteral("96 token embeddings")), qPrintable(panel()->errorText()));
  panel()->setSummaryModelDir(dir_.filePath(QStringLiteral("nowhere")));
  waitIdle();
  QVERIFY2(panel()->errorText().contains(QStringLiteral("not a folder")), qPrintable(panel()->errorText()));
}

void TstDocuments::summarizeMatchesTheEngineAndExports() {
  panel()->setSummaryModelDir(pegasusDir_);
  waitIdle();
  QVERIFY2(panel()->summaryModel(), qPrintable(panel()->errorText()));
  // Token counts now use the summarization model's tokenizer (pegasus.model, </s> appended).
  const std::string text =
      "BigBird is a sparse-attention transformer. It reads long documents. Global tokens see everything.\n"
      "Random blocks connect distant parts. The window covers neighbours.";
  const QString path = dir_.filePath(QStringLiteral("summarize-me.txt"));
  writeBytes(path, QByteArray::fromStdString(text));
  dropFile(path);
  waitIdle();
  const bb::PegasusModel& model = *panel()->summaryModel()->model;
  const bb::tok::Tokenizer& tokenizer = *panel()->summaryModel()->tokenizer;
  QCOMPARE(panel()->budget().tokens, int64_t(tokenizer.encode(text).ids.size()));
  QVERIFY(panel()->tokenizerName().startsWith(QStringLiteral("pegasus.model")));

  documents::SummarySettings s = panel()->summarySettings();
  s.beams = 2;
  s.maxLength = 12;
  s.minLength = 6;
  panel()->setSummarySettings(s);
  QSignalSpy finished(panel(), &DocumentsPanel::summaryFinished);
  panel()->summarize();
  QVERIFY(panel()->summarizing());
  waitIdle();
  QCOMPARE(int(finished.size()), 1);
  QVERIFY2(finished[0][0].toBool(), qPrintable(finished[0][1].toString()));
  const documents::SummaryRecord* r = panel()->currentSummary();
  QVERIFY(r);
  QCOMPARE(panel()->history().size(), size_t(1));

  // The engine called directly with the same settings gives the same summary.
  bb::gen::SummarizeOptions opt;
  opt.generation = bb::gen::generation_config_for(model.config());
  if (!model.config().extra.count("length_penalty")) opt.generation.length_penalty = 0.8;
  opt.generation.num_beams = 2;
  opt.generation.max_length = 12;
  opt.generation.min_length = 6;
  const bb::gen::SummaryResult expected = bb::gen::summarize(model, tokenizer, text, opt);
  QVERIFY(!expected.summary.empty());
  QCOMPARE(QString::fromStdString(r->result.summary), QString::fromStdString(expected.summary));
  QCOMPARE(r->result.chunks[0].summary_ids, expected.chunks[0].summary_ids);
  QCOMPARE(panel()->summaryView()->toPlainText(), QString::fromStdString(expected.summary));

  // Cross-attention: choosing a sentence highlights passages of the source.
  QVERIFY(!r->sentences.empty());
  panel()->selectSummarySentence(0);
  QVERIFY(!panel()->highlightedPassages().empty());
  for (const documents::SourcePassage& p : panel()->highlightedPassages()) {
    QVERIFY(p.begin >= 0 && p.begin < p.end && p.end <= int64_t(text.size()));
    QVERIFY(p.weight > 0);
  }
  QCOMPARE(int(panel()->sourceView()->extraSelections().size()), int(panel()->highlightedPassages().size()));
  // The same by clicking inside the last sentence of the summary view.
  panel()->selectSummarySentence(-1);
  QVERIFY(panel()->highlightedPassages().empty());
  window_->showDock(MainWindow::kDocuments);
  QVERIFY(QTest::qWaitForWindowExposed(panel()->summaryView()));
  const int last = int(r->sentences.size()) - 1;
  QTextCursor inside(panel()->summaryView()->document());
  inside.setPosition(int(r->sentences.back().end) - 1);  // ASCII summary pieces: code points = UTF-16
  QTest::mouseClick(panel()->summaryView()->viewport(), Qt::LeftButton, Qt::NoModifier,
                    panel()->summaryView()->cursorRect(inside).center());
  QCOMPARE(panel()->selectedSentence(), last);
  QVERIFY(!panel()->highlightedPassages().empty());

  // Exports: Markdown with a heading and the settings, plain text with the summary alone.
  const QString md = dir_.filePath(QStringLiteral("summary.md")), txt = dir_.filePath(QStringLiteral("summary.txt"));
  panel()->exportCurrentSummary(md);
  panel()->exportCurrentSummary(txt);
  const std::string mdText = bb::io::read_text_file(md.toStdString());
  QVERIFY(mdText.starts_with("# Summary of summarize-me.txt\n\n" + expected.summary + "\n"));
  QVERIFY(mdText.find("2 beam(s)") != std::string::npos);
  QCOMPARE(QString::fromStdString(bb::io::read_text_file(txt.toStdString())), QString::fromStdString(expected.summary + "\n"));
  QVERIFY_THROWS_EXCEPTION(bb::Error, panel()->exportCurrentSummary(dir_.filePath(QStringLiteral("no/such/dir/x.md"))));
}

void TstDocuments::summaryCanBeCancelledMidway() {
  QVERIFY(panel()->summaryModel());
  const size_t before = panel()->history().size();
  documents::SummarySettings s = panel()->summarySettings();
  s.beams = 1;
  s.maxLength = 3000;
  s.minLength = 3000;  // no EOS: only a cancel ends it early
  panel()->setSummarySettings(s);
  QSignalSpy finished(panel(), &DocumentsPanel::summaryFinished);
  bool sawTokens = false;
  QMetaObject::Connection c = connect(window_->tasks(), &TaskManager::taskProgress, this, [&] {
    if (!sawTokens && !panel()->streamingText().isEmpty()) {
      sawTokens = true;
      panel()->cancelSummary();
    }
  });
  panel()->summarize();
  waitIdle();
  disconnect(c);
  QVERIFY(sawTokens);
  QCOMPARE(int(finished.size()), 1);
  QCOMPARE(finished[0][0].toBool(), false);
  QCOMPARE(finished[0][1].toString(), QStringLiteral("cancelled"));
  QVERIFY(!panel()->summarizing());
  QCOMPARE(panel()->history().size(), before);
  QVERIFY(panel()->summaryStatus().startsWith(QStringLiteral("Cancelled")));
  QVERIFY(panel()->errorText().isEmpty());

  // And the next run works.
  s.maxLength = 8;
  s.minLength = 0;
  panel()->setSummarySettings(s);
  panel()->summarize();
  waitIdle();
  QCOMPARE(panel()->history().size(), before + 1);
}

void TstDocuments::encoderOutputsOnTheDocument() {
  documents::ModelOutputsView* outputs = panel()->modelOutputs();
  const std::string text = "The quick brown fox jumps over the lazy dog. It was a sunny day in the park.";
  panel()->openText(QStringLiteral("Fox"), QString::fromStdString(text));
  waitIdle();
  outputs->classify();
  QVERIFY(!outputs->errorText().isEmpty());  // no encoder model yet: a clear message, nothing runs
  QVERIFY(outputs->errorText().contains(QStringLiteral("No encoder model")));

  const QString dir = dir_.filePath(QStringLiteral("tiny-encoder"));
  writeEncoderWithHeads(dir);
  window_->loadModel(dir);
  waitIdle();
  QVERIFY2(outputs->hasModel(), qPrintable(window_->session()->lastError()));
  bb::BigBirdModel model = bb::BigBirdModel::load(dir.toStdString());

  // Fill-mask by clicking "fox" in the document: the same candidates as the engine on the masked text.
  window_->showDock(MainWindow::kDocuments);
  QPlainTextEdit* view = panel()->sourceView();
  QVERIFY(QTest::qWaitForWindowExposed(view));
  const int fox = int(QString::fromStdString(text).indexOf(QStringLiteral("fox")));
  QTextCursor at(view->document());
  at.setPosition(fox + 1);
  QTest::mouseClick(view->viewport(), Qt::LeftButton, Qt::NoModifier, view->cursorRect(at).center());
  waitIdle();
  QVERIFY2(outputs->maskResult(), qPrintable(outputs->errorText()));
  QCOMPARE(QString::fromStdString(outputs->maskResult()->word), QStringLiteral("fox"));
  std::string masked = text;
  masked.replace(size_t(fox), 3, "[MASK]");
  const bb::FillMaskResult direct = bb::fill_mask(model, *gpt2_, masked, 5);
  QCOMPARE(int(outputs->maskResult()->candidates.size()), 5);
  for (size_t i = 0; i < 5; ++i) {
    QCOMPARE(outputs->maskResult()->candidates[i].id, direct.masks[0].candidates[i].id);
    QCOMPARE(outputs->maskResult()->candidates[i].probability, direct.masks[0].candidates[i].probability);
  }

  // Classification: a probability per label of the config, summing to 1.
  outputs->classify();
  waitIdle();
  QVERIFY2(outputs->classification(), qPrintable(outputs->errorText()));
  QCOMPARE(int(outputs->classification()->labels.size()), 2);
  const float total = outputs->classification()->labels[0].probability + outputs->classification()->labels[1].probability;
  QVERIFY(std::abs(total - 1.0f) < 1e-5f);
  QVERIFY(outputs->classification()->labels[0].probability >= outputs->classification()->labels[1].probability);

  // QA: the answer is a span of the document, highlighted in the source view.
  outputs->ask(QStringLiteral("Where was it sunny?"));
  waitIdle();
  const documents::Answer* a = outputs->answer();
  QVERIFY2(a, qPrintable(outputs->errorText()));
  QVERIFY(a->end > a->begin && a->end <= int64_t(text.size()));
  QCOMPARE(QString::fromStdString(a->text), QString::fromStdString(text.substr(size_t(a->begin), size_t(a->end - a->begin))));
  QVERIFY(a->probability > 0 && a->probability <= 1);
  bool highlighted = false;
  for (const QTextEdit::ExtraSelection& sel : view->extraSelections())
    highlighted = highlighted || (sel.cursor.selectionStart() == int(a->begin) && sel.cursor.selectionEnd() == int(a->end));
  QVERIFY(highlighted);
  outputs->ask(QStringLiteral("   "));
  waitIdle();
  QVERIFY(outputs->errorText().contains(QStringLiteral("ask a question")));
}

QTEST_MAIN(TstDocuments)
#include "tst_documents.moc"
