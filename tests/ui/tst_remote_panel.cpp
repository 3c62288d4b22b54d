// The Remote panel against a real runner on loopback: the runner is saved with mode 0600 and
// loaded again, "Test connection" reports the runner (and a wrong token as 401), the job list
// shows the runner's jobs, artifacts download, and the UI thread keeps running meanwhile.
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <sys/stat.h>

#include "engine/remote/client.h"
#include "engine/remote/server.h"
#include "ui/remote/remote_panel.h"

using bb::ui::remote::RemotePanel;

namespace {
const char* kToken = "ui-test-token-0123456789abcdef";
}

class TstRemotePanel : public QObject {
  Q_OBJECT

 private slots:
  void savesTestsListsAndDownloads() {
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    bb::remote::ServerOptions o;
    o.port = 0;
    o.token = kToken;
    o.state_dir = (tmp.path() + "/state").toStdString();
    o.worker.bigbird_executable = "/bin/false";  // every job fails at once: the panel shows that
    o.rate_per_s = 0;
    bb::remote::Server server(o);
    server.start();
    bb::remote::Client client({server.url(), kToken, ""});
    QFile doc(tmp.path() + "/doc.txt");
    QVERIFY(doc.open(QIODevice::WriteOnly));
    doc.write("a document");
    doc.close();
    client.upload(doc.fileName().toStdString(), "doc.txt");
    const std::string id = client.submit({{"kind", "summarize"}, {"model", "uploads/doc.txt"}, {"inputs", {{"document", "uploads/doc.txt"}}}})["id"];
    client.events(id, 0, [](const nlohmann::json&) { return true; });  // until it ended

    const QString runners = tmp.path() + "/config/runners.json";
    {
      RemotePanel panel(runners);
      panel.nameEdit()->setText("box");
      panel.urlEdit()->setText(QString::fromStdString(server.url()));
      panel.tokenEdit()->setText(kToken);
      QVERIFY(panel.save());
      struct stat st {};
      QCOMPARE(::stat(runners.toUtf8().constData(), &st), 0);
      QCOMPARE(int(st.st_mode & 0777), 0600);
    }
    RemotePanel panel(runners);  // loads the saved runner
    QCOMPARE(panel.urlEdit()->text(), QString::fromStdString(server.url()));
    QCOMPARE(panel.tokenEdit()->echoMode(), QLineEdit::Password);

    QSignalSpy tested(&panel, &RemotePanel::connectionTested);
    panel.testConnection();
    QVERIFY(tested.wait(10000));
    QCOMPARE(tested.first().at(0).toBool(), true);
    QVERIFY2(panel.statusLabel()->text().contains("protocol 1"), qPrintable(panel.statusLabel()->text()));

    QSignalSpy refreshed(&panel, &RemotePanel::jobsRefreshed);
    panel.refreshJobs();
    QVERIFY(refreshed.wait(10000));
    QCOMPARE(panel.jobsTable()->rowCount(), 1);
    QCOMPARE(panel.jobsTable()->item(0, 0)->text(), QString::fromStdString(id));
    QCOMPARE(panel.jobsTable()->item(0, 2)->text(), QString("failed"));

    panel.jobsTable()->selectRow(0);
    QSignalSpy fetched(&panel, &RemotePanel::artifactsFetched);
    panel.fetchSelected(tmp.path() + "/downloads");
    QVERIFY(fetched.wait(10000));
    QVERIFY2(fetched.first().at(0).toBool(), qPrintable(fetched.first().at(1).toString()));
    QVERIFY(QFile::exists(tmp.path() + "/downloads/" + QString::fromStdString(id) + "/worker.log"));

    panel.tokenEdit()->setText("wrong-token-0123456789abcdef");
    tested.clear();
    panel.testConnection();
    QVERIFY(tested.wait(10000));
    QCOMPARE(tested.first().at(0).toBool(), false);
    QVERIFY2(tested.first().at(1).toString().contains("401"), qPrintable(tested.first().at(1).toString()));
    server.stop();
  }
};

QTEST_MAIN(TstRemotePanel)
#include "tst_remote_panel.moc"
