/**
 * Runs test files each in a `node --test` process of its own, as many at once as a CPU budget allows,
 * longest first: the runner of the end-to-end phase of `npm test` (scripts/test.sh).
 *
 * Why not `node --test FILES`: it sorts the files by name and runs a fixed number at once. The heavy
 * files differ tenfold in length and in appetite: one that boots a cloud image under TCG keeps a core
 * busy for six minutes, one that drives the fake driver's services waits on them most of the time. Run
 * in name order two at a time, the longest file could start last and the waiting ones left a core idle.
 * Here every file has an estimate of its wall time and of the cores it keeps busy (its processes' CPU
 * time over its wall time), kept in test/timings.json from an earlier run. Files start longest first,
 * each when its cores fit in the budget; a file with no estimate counts as long and as a whole core.
 *
 * Each file's output is printed in one piece when it ends, with its wall and CPU time, and a table of
 * all of them closes the run, so a slow CI run shows where its time went. `--record FILE` writes the
 * measured figures back in the timings format.
 *
 *   node scripts/test-pool.mjs [--budget CORES] [--timings FILE] [--record FILE] [--] FILES...
 *   (node options such as --enable-source-maps or --import tsx given to this script are passed on)
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import process from 'node:process';

/** Defaults for a file missing from the timings: assumed long, so that it starts early, and a full core. */
const UNKNOWN = { seconds: 180, cores: 1 };
/** Cores are measured, but a file is never counted as less than this share of one (start-up bursts). */
const MIN_CORES = 0.5;

function parseArgs(argv) {
  const options = { budget: 2, timings: null, record: null, testArgs: ['--test-reporter=spec'], files: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--budget') options.budget = Number(argv[++i]);
    else if (arg === '--timings') options.timings = argv[++i];
    else if (arg === '--record') options.record = argv[++i];
    else if (arg.startsWith('--test-')) options.testArgs.push(arg);
    else if (arg === '--') {
      options.files.push(...argv.slice(i + 1));
      break;
    } else options.files.push(arg);
  }
  if (!(options.budget > 0)) throw new Error('--budget takes a positive number of cores');
  return options;
}

/** The timings file's entries: { "<source path>": { seconds, cores } }. */
function readTimings(path) {
  if (!path || !existsSync(path)) return {};
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The source path a compiled file stands for, the key of the timings (they outlive a build). */
function sourcePath(file) {
  return file.replace(/^\.cache\/test-build\//, '').replace(/\.js$/, '.ts');
}

/** Bash's `times` prints the shell's own and then its children's user and system time, as 1m2.345s. */
function childCpuSeconds(timesOutput) {
  const lines = timesOutput.trim().split('\n');
  const children = lines[lines.length - 1] ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map(([, m, s]) => Number(m) * 60 + Number(s));
  return seconds.reduce((a, b) => a + b, 0);
}

/**
 * Where a file's CPU time is counted. A cgroup v1 cpuacct hierarchy of its own counts every process the
 * file starts, the daemonized qemu guests too (they leave for the cpu hierarchy's guest cgroups, not
 * this one). Without one, bash's `times` counts the processes that were waited for, which leaves out the
 * guests; the recorded cores are then too low for the files that boot them.
 */
const CPUACCT = '/sys/fs/cgroup/cpuacct';
let cgroupSerial = 0;
function accountingCgroup() {
  if (!existsSync(`${CPUACCT}/cpuacct.usage`)) return null;
  const path = `${CPUACCT}/stratus-test-pool/${process.pid}-${++cgroupSerial}`;
  try {
    mkdirSync(path, { recursive: true });
    return path;
  } catch {
    return null;
  }
}

function cgroupCpuSeconds(cgroup) {
  const seconds = Number(readFileSync(`${cgroup}/cpuacct.usage`, 'utf8')) / 1e9;
  try {
    rmdirSync(cgroup);
  } catch {
    // A process the file left running keeps it; the file's own checks are what catch a leak.
  }
  return seconds;
}

/** The machine's busy and total CPU time so far (jiffies, all cores), to tell how full the run kept it. */
function machineCpu() {
  if (!existsSync('/proc/stat')) return null;
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = fields[3] + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

function runFile(file, nodeArgs, testArgs) {
  const cgroup = accountingCgroup();
  // Through bash for `times` (every process the file started and waited for), after joining the cgroup.
  const join = cgroup ? `echo $$ > ${cgroup}/cgroup.procs; ` : '';
  const script = `${join}node "$@"; status=$?; times >&3; exit $status`;
  // A process group of its own: what the file leaves running when it ends (a file ended by its timeout
  // runs no clean-up) is ended with it, instead of loading the machine for the files after it.
  const child = spawn('bash', ['-c', script, 'bash', ...nodeArgs, '--test', ...testArgs, file], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const output = [];
  let times = '';
  child.stdout.on('data', (chunk) => output.push(chunk));
  child.stderr.on('data', (chunk) => output.push(chunk));
  child.stdio[3].on('data', (chunk) => (times += chunk));
  const started = process.hrtime.bigint();
  return {
    child,
    done: new Promise((resolve) => {
      child.on('close', (code, signal) => {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // Nothing of the file's is left.
        }
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const cpu = cgroup ? cgroupCpuSeconds(cgroup) : childCpuSeconds(times);
        resolve({ file, ok: code === 0, code: code ?? signal, seconds, cpu, output });
      });
    }),
  };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  // Node options this script was started with (source maps, a loader) apply to each file's process too.
  const nodeArgs = process.execArgv;
  const timings = readTimings(options.timings);
  const estimate = (file) => {
    const known = timings[sourcePath(file)];
    return known
      ? { seconds: known.seconds, cores: Math.min(options.budget, Math.max(MIN_CORES, known.cores)) }
      : { ...UNKNOWN, cores: Math.min(options.budget, UNKNOWN.cores) };
  };
  const cpuAtStart = machineCpu();
  const startedAt = process.hrtime.bigint();
  const queue = [...options.files].sort((a, b) => estimate(b).seconds - estimate(a).seconds);
  const running = new Map();
  const results = [];
  let busy = 0;
  const stop = (signal) => {
    for (const { child } of running.values()) process.kill(-child.pid, signal);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  while (queue.length > 0 || running.size > 0) {
    // Start what fits, longest first; a file too big for what is left waits, smaller ones may pass it.
    for (let i = 0; i < queue.length;) {
      const { cores } = estimate(queue[i]);
      if (running.size > 0 && busy + cores > options.budget + 1e-9) {
        i++;
        continue;
      }
      const file = queue.splice(i, 1)[0];
      busy += cores;
      running.set(file, { ...runFile(file, nodeArgs, options.testArgs), cores });
    }
    const result = await Promise.race([...running.values()].map((r) => r.done));
    busy -= running.get(result.file).cores;
    running.delete(result.file);
    results.push(result);
    const verdict = result.ok ? 'passed' : `FAILED (${result.code})`;
    process.stdout.write(`\n### ${sourcePath(result.file)}: ${verdict} in ${result.seconds.toFixed(1)} s\n`);
    for (const chunk of result.output) process.stdout.write(chunk);
  }

  const failed = results.filter((r) => !r.ok);
  const wall = (r) => r.seconds.toFixed(1).padStart(7);
  process.stdout.write('\n### wall s    cpu s  cores  file\n');
  for (const r of [...results].sort((a, b) => b.seconds - a.seconds)) {
    const cores = (r.cpu / r.seconds).toFixed(2).padStart(5);
    process.stdout.write(`### ${wall(r)}  ${r.cpu.toFixed(1).padStart(7)}  ${cores}  ${sourcePath(r.file)}\n`);
  }
  process.stdout.write(`### ${results.length - failed.length} of ${results.length} files passed\n`);
  const cpuAtEnd = machineCpu();
  if (cpuAtStart && cpuAtEnd) {
    const busy = (cpuAtEnd.busy - cpuAtStart.busy) / (cpuAtEnd.total - cpuAtStart.total);
    const minutes = Number(process.hrtime.bigint() - startedAt) / 6e10;
    const cores = availableParallelism();
    process.stdout.write(
      `### ${minutes.toFixed(1)} min; the machine's ${cores} cores were ${(busy * 100).toFixed(0)}% busy\n`,
    );
  }
  for (const r of failed) process.stdout.write(`### failed: ${sourcePath(r.file)}\n`);

  if (options.record) {
    const recorded = { ...readTimings(options.record) };
    for (const r of results) {
      recorded[sourcePath(r.file)] = { seconds: Math.round(r.seconds), cores: Number((r.cpu / r.seconds).toFixed(2)) };
    }
    const sorted = Object.fromEntries(Object.entries(recorded).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(options.record, `${JSON.stringify(sorted, null, 2)}\n`);
  }
  process.exitCode = failed.length > 0 ? 1 : 0;
}

await main();
