#!/usr/bin/env python3
"""BigBird Studio TPU worker: runs one remote-runner job on a TPU VM.

`bigbird serve --backend tpu` starts this script once per job with the job's worker spec
(worker-spec.json: kind, model, inputs, params, model_path, input_paths, artifacts_dir). It
translates the Studio job into the run of an established stack, streams that run's progress back
as JSON-line events on stdout (the runner turns them into the job's events) and leaves the result
in artifacts_dir in the layout Studio loads (safetensors + config.json):

  finetune, stack "flax" (default): HF FlaxBigBird* models driven by flax_finetune.py (JAX owns
      the TPU and its data parallelism); the result is converted to safetensors with HF names.
  finetune, stack "tf": the original google-research/bigbird TF code (run_classifier for cls);
      the TF checkpoint is converted with `bigbird convert` (Studio reads TF checkpoints natively).
  summarize / forward / evaluate, stack "engine": Studio's own engine on the TPU VM's host CPUs
      (there is no Flax BigBird-Pegasus in transformers).

--dry-run prints the translation (stack, argv, cwd, config, conversion) as JSON and runs nothing;
the Studio test suite checks it for exact commands.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

FLAX_TASKS = ("cls", "mlm")
TF_TASKS = ("cls",)


class SpecError(Exception):
    pass


def _param(params, key, default, kind):
    value = params.get(key, default)
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise SpecError("params.%s: expected %s, got %r" % (key, kind.__name__, value))


def _bool_text(flag):
    return "True" if flag else "False"


def choose_stack(spec, requested):
    if requested != "auto":
        return requested
    return "flax" if spec["kind"] == "finetune" else "engine"


def translate_engine(spec, env):
    """summarize / forward: the same CLI call the local backend makes, on the VM's host."""
    bigbird = env.get("BIGBIRD_CLI", "bigbird")
    art = spec["artifacts_dir"]
    inputs = spec["input_paths"]
    argv = [bigbird, spec["kind"], "--model", spec["model_path"]]
    stdout = os.path.join(art, "stdout.txt")
    if spec["kind"] == "summarize":
        argv += ["--file", inputs["document"], "--json", "--progress"]
        stdout = os.path.join(art, "summary.json")
    elif spec["kind"] == "forward":
        argv += ["--inputs", inputs["inputs"], "--out", os.path.join(art, "outputs.safetensors")]
    elif spec["kind"] == "evaluate":
        argv[1] = "finetune"
        argv += ["--eval-only", "--eval", inputs["eval"]]
        if "tokenizer" in inputs:
            argv += ["--tokenizer", inputs["tokenizer"]]
        stdout = os.path.join(art, "metrics.json")
    else:
        raise SpecError("the engine stack runs summarize, forward and evaluate jobs, not %s" % spec["kind"])
    for key in sorted(spec.get("params", {})):
        value = spec["params"][key]
        if value is True:
            argv.append("--" + key)
        elif value is not False:
            argv += ["--" + key, str(value)]
    return {"stack": "engine", "argv": argv, "cwd": art, "stdout": stdout, "config": None, "convert": []}


def translate_flax(spec, env):
    p = spec.get("params", {})
    task = p.get("task")
    if task not in FLAX_TASKS:
        raise SpecError("the flax stack fine-tunes tasks %s, not %r (try --stack tf)" % (", ".join(FLAX_TASKS), task))
    art = spec["artifacts_dir"]
    inputs = spec["input_paths"]
    out = os.path.join(art, "finetune")
    config = {
        "task": task,
        "model": spec["model_path"],
        "train_file": inputs["train"],
        "eval_file": inputs.get("eval"),
        "tokenizer": inputs.get("tokenizer"),
        "output_dir": out,
        "text_column": p.get("text-column", "text"),
        "label_column": p.get("label-column", "label"),
        "max_length": _param(p, "max-length", 512, int),
        "batch_size": _param(p, "batch-size", 8, int),
        "steps": _param(p, "steps", 0, int),
        "epochs": _param(p, "epochs", 3.0, float),
        "learning_rate": _param(p, "lr", 5e-5, float),
        "warmup_steps": _param(p, "warmup", 0, int),
        "weight_decay": _param(p, "weight-decay", 0.01, float),
        "mask_prob": _param(p, "mask-prob", 0.15, float),
        "seed": _param(p, "seed", 42, int),
        "attention_type": p.get("attention-type", "block_sparse"),
        "eval_every": _param(p, "eval-every", 0, int),
    }
    config_path = os.path.join(os.path.dirname(art), "flax-config.json")
    python = env.get("BIGBIRD_TPU_PYTHON", sys.executable or "python3")
    return {
        "stack": "flax",
        "argv": [python, os.path.join(HERE, "flax_finetune.py"), "--config", config_path],
        "cwd": os.path.dirname(art),
        "stdout": None,
        "config": config,
        "config_path": config_path,
        "convert": [],  # flax_finetune.py writes model/ (safetensors, HF names) itself
    }


def translate_tf(spec, env):
    p = spec.get("params", {})
    task = p.get("task")
    if task not in TF_TASKS:
        raise SpecError("the tf stack fine-tunes tasks %s, not %r" % (", ".join(TF_TASKS), task))
    src = env.get("BIGBIRD_SRC")
    if not src:
        raise SpecError("the tf stack needs BIGBIRD_SRC (a google-research/bigbird checkout)")
    art = spec["artifacts_dir"]
    out = os.path.join(art, "finetune", "tf")
    steps = _param(p, "steps", 0, int)
    if steps <= 0:
        raise SpecError("the tf stack needs params.steps (run_classifier counts steps, not epochs)")
    argv = [
        env.get("BIGBIRD_TPU_PYTHON", sys.executable or "python3"), "bigbird/classifier/run_classifier.py",
        "--data_dir=" + os.path.dirname(spec["input_paths"]["train"]),
        "--output_dir=" + out,
        "--init_checkpoint=" + spec["model_path"],
        "--attention_type=" + p.get("attention-type", "block_sparse"),
        "--max_encoder_length=%d" % _param(p, "max-length", 4096, int),
        "--train_batch_size=%d" % _param(p, "batch-size", 2, int),
        "--eval_batch_size=%d" % _param(p, "batch-size", 2, int),
        "--learning_rate=%s" % repr(_param(p, "lr", 1e-5, float)),
        "--num_train_steps=%d" % steps,
        "--do_train=True",
        "--do_eval=" + _bool_text("eval" in spec["input_paths"]),
        "--use_tpu=True",
        "--tpu_name=" + env.get("TPU_NAME", "local"),
    ]
    bigbird = env.get("BIGBIRD_CLI", "bigbird")
    convert = [bigbird, "convert", out, os.path.join(art, "finetune", "model"), "--dtype", "f32"]
    return {"stack": "tf", "argv": argv, "cwd": src, "stdout": None, "config": None, "convert": [convert]}


def translate(spec, stack="auto", env=None):
    env = dict(os.environ if env is None else env)
    for key in ("kind", "model_path", "input_paths", "artifacts_dir"):
        if key not in spec:
            raise SpecError("worker spec: missing %r" % key)
    stack = choose_stack(spec, stack)
    if stack == "engine":
        return translate_engine(spec, env)
    if spec["kind"] != "finetune":
        raise SpecError("the %s stack runs finetune jobs; %s runs on the engine stack" % (stack, spec["kind"]))
    if stack == "flax":
        return translate_flax(spec, env)
    if stack == "tf":
        return translate_tf(spec, env)
    raise SpecError("unknown stack %r (auto, flax, tf, engine)" % stack)


TF_STEP = re.compile(r"loss = ([-0-9.eE+naif]+), step = (\d+)")


def line_event(line):
    """One line of the stack's output as a runner event."""
    line = line.rstrip("\r\n")
    if line.startswith("{"):
        try:
            event = json.loads(line)
            if isinstance(event, dict) and isinstance(event.get("type"), str) and event["type"] != "state":
                return event
        except ValueError:
            pass
    m = TF_STEP.search(line)
    if m:
        return {"type": "metric", "step": int(m.group(2)), "loss": float(m.group(1))}
    return {"type": "log", "line": line}


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def run(plan):
    if plan.get("config") is not None:
        with open(plan["config_path"], "w") as f:
            json.dump(plan["config"], f, indent=1)
    stdout_file = open(plan["stdout"], "wb") if plan.get("stdout") else None
    proc = subprocess.Popen(plan["argv"], cwd=plan["cwd"], stdout=stdout_file or subprocess.PIPE,
                            stderr=subprocess.STDOUT if stdout_file is None else subprocess.PIPE)
    stream = proc.stdout if stdout_file is None else proc.stderr
    for raw in iter(stream.readline, b""):
        for part in raw.decode("utf-8", "replace").replace("\r", "\n").split("\n"):
            if part.strip():
                emit(line_event(part))
    code = proc.wait()
    if stdout_file:
        stdout_file.close()
    if code != 0:
        sys.stderr.write("bigbird_tpu_worker: error: %s exited with code %d\n" % (plan["argv"][0], code))
        return 1
    for convert in plan.get("convert", []):
        emit({"type": "log", "line": "converting: " + " ".join(convert)})
        if subprocess.call(convert) != 0:
            sys.stderr.write("bigbird_tpu_worker: error: the conversion to safetensors failed\n")
            return 1
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--spec", required=True, help="worker-spec.json written by bigbird serve --backend tpu")
    ap.add_argument("--stack", default=os.environ.get("BIGBIRD_TPU_STACK", "auto"), choices=["auto", "flax", "tf", "engine"])
    ap.add_argument("--dry-run", action="store_true", help="print the translation as JSON, run nothing")
    args = ap.parse_args(argv)
    try:
        with open(args.spec) as f:
            spec = json.load(f)
        plan = translate(spec, args.stack)
    except (OSError, ValueError, SpecError) as e:
        sys.stderr.write("bigbird_tpu_worker: error: %s\n" % e)
        return 1
    if args.dry_run:
        sys.stdout.write(json.dumps(plan, indent=1, sort_keys=True) + "\n")
        return 0
    if shutil.which(plan["argv"][0]) is None and not os.path.exists(plan["argv"][0]):
        sys.stderr.write("bigbird_tpu_worker: error: %s not found on this machine\n" % plan["argv"][0])
        return 1
    return run(plan)


if __name__ == "__main__":
    sys.exit(main())
