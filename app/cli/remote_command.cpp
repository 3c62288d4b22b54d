// bigbird remote: the client side of the remote runner (engine/remote/client.h): save runners
// (URL + token, 0600), test them, upload files, submit jobs, follow events, cancel, fetch artifacts.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "app/cli/args.h"
#include "app/cli/command.h"
#include "engine/core/error.h"
#include "engine/io/atomic_file.h"
#include "engine/remote/client.h"
#include "engine/remote/protocol.h"
#include "engine/remote/token_file.h"

namespace bb::cli {
namespace {

using nlohmann::json;

const char* kUsage = R"(usage: bigbird remote ACTION ...

Drives a remote runner (`bigbird serve`, e.g. on a TPU VM through an SSH tunnel: docs/remote-tpu.md).
Runners are saved with their token in ~/.config/bigbird-studio/runners.json (mode 0600; $XDG_CONFIG_HOME
and $BIGBIRD_CONFIG_DIR respected).

  add NAME URL --token-file F [--ca-cert PEM]   save a runner (PEM: trust a self-signed certificate)
  remove NAME                                   forget a runner
  runners                                       the saved runners (without tokens)
  test NAME                                     health, protocol, backend, devices and models of the runner
  list NAME [--json]                            the runner's jobs
  upload NAME LOCAL_FILE [--as REMOTE_NAME]     upload (resumes an interrupted upload; sha256-checked);
                                                jobs refer to it as uploads/REMOTE_NAME
  submit NAME --spec FILE|- [--follow]          submit a job spec (JSON: kind, model, inputs, params) and print
                                                its id; --follow streams its events until it ends
  status NAME ID [--json]                       state, times and error of a job
  events NAME ID [--offset N] [--no-follow]     the job's events as JSON lines (reconnects and resumes)
  cancel NAME ID                                cancel a queued or running job
  fetch NAME ID ARTIFACT --out PATH             download an artifact (a file, or every file under a directory)

Exit code of submit --follow and events: 0 when the job succeeded, 1 otherwise.)";

remote::Client client_for(const std::string& name) {
  const remote::SavedRunner r = remote::find_runner(name);
  return remote::Client({r.url, r.token, r.ca_cert});
}

const std::string& positional(const Args& a, size_t i, const char* what) {
  if (a.positional().size() <= i) throw Error(std::string("missing ") + what + " (see bigbird remote --help)");
  return a.positional()[i];
}

void expect_positionals(const Args& a, size_t n) {
  if (a.positional().size() > n) throw Error("unexpected argument '" + a.positional()[n] + "' (see bigbird remote --help)");
}

// Prints events as JSON lines; returns the exit code for the job's final state.
int follow(remote::Client& c, const std::string& id, uint64_t offset, bool keep_following) {
  std::string final_state, error;
  c.events(id, offset, [&](const json& e) {
    std::printf("%s\n", e.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
    std::fflush(stdout);
    if (e.value("type", "") == "state" && remote::is_terminal(remote::parse_job_state(e.value("state", "queued")))) {
      final_state = e["state"];
      error = e.value("error", "");
    }
    return true;
  }, keep_following);
  if (final_state.empty()) final_state = c.job(id).value("state", "");
  if (final_state == "succeeded") return 0;
  if (final_state == "queued" || final_state == "running") return 0;  // --no-follow on a live job
  std::fprintf(stderr, "bigbird remote: job %s %s%s\n", id.c_str(), final_state.c_str(), error.empty() ? "" : (": " + error).c_str());
  return 1;
}

int run_remote(const std::vector<std::string>& argv) {
  Args a(argv, {"token-file", "ca-cert", "as", "spec", "offset", "out"}, {"follow", "no-follow", "json"});
  const std::string action = positional(a, 0, "ACTION");
  if (action == "runners") {
    expect_positionals(a, 1);
    for (const remote::SavedRunner& r : remote::load_runners()) std::printf("%-16s %s\n", r.name.c_str(), r.url.c_str());
    return 0;
  }
  const std::string name = positional(a, 1, "NAME");
  if (action == "add") {
    expect_positionals(a, 3);
    const std::string url = positional(a, 2, "URL");
    remote::SavedRunner entry{name, url, remote::read_token_file(a.require("token-file")), a.get_or("ca-cert", "")};
    if (!entry.ca_cert.empty()) entry.ca_cert = std::filesystem::absolute(entry.ca_cert).string();
    remote::Client check({entry.url, entry.token, entry.ca_cert});  // validates the URL
    std::vector<remote::SavedRunner> all = remote::load_runners();
    std::erase_if(all, [&](const remote::SavedRunner& r) { return r.name == name; });
    all.push_back(entry);
    remote::save_runners(all);
    std::printf("saved runner %s (%s) in %s\n", name.c_str(), url.c_str(), remote::runners_file().c_str());
    return 0;
  }
  if (action == "remove") {
    expect_positionals(a, 2);
    std::vector<remote::SavedRunner> all = remote::load_runners();
    const size_t before = all.size();
    std::erase_if(all, [&](const remote::SavedRunner& r) { return r.name == name; });
    if (all.size() == before) throw Error("no runner named '" + name + "'");
    remote::save_runners(all);
    return 0;
  }
  remote::Client c = client_for(name);
  if (action == "test") {
    expect_positionals(a, 2);
    const json h = c.health();
    std::printf("%s: ok (protocol %d, bigbird %s, backend %s, %zu models, %d/%d jobs running)\n", c.options().url.c_str(),
                h["protocol"].get<int>(), h.value("version", "?").c_str(), h.value("backend", "?").c_str(), h["models"].size(),
                h["jobs"].value("running", 0), h["jobs"].value("max_concurrent", 0));
    return 0;
  }
  if (action == "list") {
    expect_positionals(a, 2);
    const json jobs = c.jobs();
    if (a.has("json")) {
      std::printf("%s\n", jobs.dump(1).c_str());
      return 0;
    }
    for (const json& j : jobs)
      std::printf("%-20s %-10s %-10s %s\n", j["id"].get<std::string>().c_str(), j["spec"]["kind"].get<std::string>().c_str(),
                  j["state"].get<std::string>().c_str(), j["error"].get<std::string>().c_str());
    return 0;
  }
  if (action == "upload") {
    expect_positionals(a, 3);
    const std::string local = positional(a, 2, "LOCAL_FILE");
    const std::string as = a.get_or("as", std::filesystem::path(local).filename().string());
    const json r = c.upload(local, as);
    std::printf("uploads/%s (%llu bytes, sha256 %s)\n", as.c_str(), (unsigned long long)r["size"].get<uint64_t>(),
                r["sha256"].get<std::string>().c_str());
    return 0;
  }
  if (action == "submit") {
    expect_positionals(a, 2);
    const std::string spec_arg = a.require("spec");
    const std::string text = spec_arg == "-" ? std::string(std::istreambuf_iterator<char>(std::cin), {})
                             : spec_arg.starts_with("{") ? spec_arg
                                                          : io::read_text_file(spec_arg);
    const json spec = json::parse(text, nullptr, false);
    if (spec.is_discarded()) throw Error(spec_arg + ": the job spec is not valid JSON");
    const json r = c.submit(spec);
    const std::string id = r["id"];
    if (!a.has("follow")) {
      std::printf("%s\n", id.c_str());
      return 0;
    }
    std::fprintf(stderr, "bigbird remote: submitted %s\n", id.c_str());
    return follow(c, id, 0, true);
  }
  const std::string id = positional(a, 2, "ID");
  if (action == "status") {
    expect_positionals(a, 3);
    const json j = c.job(id);
    if (a.has("json")) {
      std::printf("%s\n", j.dump(1).c_str());
    } else {
      std::printf("%s %s %s%s\n", id.c_str(), j["spec"]["kind"].get<std::string>().c_str(), j["state"].get<std::string>().c_str(),
                  j["error"].get<std::string>().empty() ? "" : (": " + j["error"].get<std::string>()).c_str());
    }
    return 0;
  }
  if (action == "events") {
    expect_positionals(a, 3);
    const int offset = a.get_int("offset", 0);
    if (offset < 0) throw Error("--offset must not be negative");
    return follow(c, id, uint64_t(offset), !a.has("no-follow"));
  }
  if (action == "cancel") {
    expect_positionals(a, 3);
    std::printf("%s %s\n", id.c_str(), c.cancel(id)["state"].get<std::string>().c_str());
    return 0;
  }
  if (action == "fetch") {
    expect_positionals(a, 4);
    const std::string artifact = positional(a, 3, "ARTIFACT");
    const std::string out = a.require("out");
    int fetched = 0;
    for (const json& f : c.artifacts(id)) {
      const std::string path = f["path"];
      if (path == artifact) {
        c.fetch(id, path, out);
        ++fetched;
      } else if (path.rfind(artifact + "/", 0) == 0) {
        c.fetch(id, path, out + "/" + path.substr(artifact.size() + 1));
        ++fetched;
      }
    }
    if (fetched == 0) throw Error("job " + id + " has no artifact '" + artifact + "' (see bigbird remote status)");
    std::printf("fetched %d file%s to %s\n", fetched, fetched == 1 ? "" : "s", out.c_str());
    return 0;
  }
  throw Error("unknown action '" + action + "' (add, remove, runners, test, list, upload, submit, status, events, cancel, fetch)");
}

const Registrar reg{{"remote", "Use a remote runner: upload, submit, follow, cancel, fetch (bigbird serve)", kUsage, run_remote}};

}  // namespace
}  // namespace bb::cli
