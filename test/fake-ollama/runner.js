'use strict';
/**
 * The fake model runner that the fake `ollama serve` starts, standing in for `llama-server`.
 * It only has to exist as a process: it stays alive until SIGTERM or SIGKILL, and it never dies
 * of a broken output pipe, so it survives as an orphan when its server dies abruptly.
 */
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', () => {});
}

const startedAt = new Date().toISOString();
try {
  process.stderr.write(
    `time=${startedAt} level=INFO source=runner.go:1005 msg="starting go runner" pid=${process.pid} args=${JSON.stringify(process.argv.slice(2).join(' '))}\n`,
  );
} catch {
  // A broken pipe must not end the runner.
}

const keepAlive = setInterval(() => {}, 60_000);

process.on('SIGTERM', () => {
  clearInterval(keepAlive);
  process.exit(0);
});
