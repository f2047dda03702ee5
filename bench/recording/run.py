#!/usr/bin/env python3
"""Recording cost: N cameras recorded by `citywatch serve` for a measured
window, against N `ffmpeg -c copy -f segment` processes recording the same
stream in the same run. Prints CPU seconds per stream-hour, resident memory
per stream, and the ratios.

    bench/recording/run.py [--streams N] [--seconds S] [--kbps K]

A/B: several variants (another binary, other [video] settings) recorded in
turn, interleaved over rounds so that drift in the machine's load hits all
of them alike, ffmpeg last in each round; each run is compared with its own
round's ffmpeg (a variant alone gives the goal's ratio over several rounds):

    bench/recording/run.py --seconds 30 --rounds 3 \
        --variant base,bin=/tmp/citywatch.old --variant new --variant batch500,read_batch_ms=500
"""
import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_split(pids):
    """(user, system) CPU seconds of the processes so far."""
    user = system = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11]) / TICK
            system += int(fields[12]) / TICK
        except FileNotFoundError:
            pass
    return user, system


def thread_cpu(pid):
    """CPU seconds so far of each thread of `pid`, by thread id: (name, s)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                head, rest = f.read().rsplit(")", 1)
            fields = rest.split()
            out[tid] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / TICK)
        except FileNotFoundError:
            pass
    return out


def cpu_by_thread_name(before, after):
    """CPU seconds between two `thread_cpu` snapshots, summed by thread
    name (threads alive at both ends)."""
    out = {}
    for tid, (name, s) in after.items():
        if tid in before:
            out[name] = out.get(name, 0.0) + s - before[tid][1]
    return out


def minor_faults(pids):
    """Page faults the processes took so far. Each is a page of memory the
    process got (again) from the kernel; on a VM a fresh page can cost far
    more than the copy that touched it, so churn shows up as user time."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                total += int(f.read().rsplit(")", 1)[1].split()[7])
        except FileNotFoundError:
            pass
    return total


def rss_bytes(pids):
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
        except FileNotFoundError:
            pass
    return total


def dir_bytes(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                n += os.path.getsize(os.path.join(root, f))
            except FileNotFoundError:
                pass
    return n


def indexed_bytes(data):
    """Sample bytes citywatch's index names: what it has made durable. (The
    files' sizes would not do: an open file is sized ahead of its writes.)"""
    db = sqlite3.connect(f"file:{os.path.join(data, 'citywatch.db')}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute("SELECT COALESCE(SUM(bytes), 0) FROM recording").fetchone()[0]
    finally:
        db.close()


def kernel_threads():
    """Pids of kernel threads (children of kthreadd): writeback, softirq."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == 2:
                        out.append(int(d))
            except (FileNotFoundError, ProcessLookupError):
                pass
    return out


def measure(pids, seconds):
    """CPU of `pids` over the window, their RSS, the CPU of kernel threads
    meanwhile (writeback of what they wrote happens there unless they sync
    it themselves; also anything else the machine does), and their page
    faults over the window."""
    kthreads = kernel_threads()
    f0 = minor_faults(pids)
    u0, s0 = cpu_split(pids)
    k0 = {k: sum(cpu_split([k])) for k in kthreads}
    time.sleep(seconds)
    u1, s1 = cpu_split(pids)
    faults = minor_faults(pids) - f0
    # Per thread, and only threads alive at both ends: kernel workers come
    # and go, and one that exits would otherwise subtract its whole life.
    k1 = {k: sum(cpu_split([k])) for k in kernel_threads()}
    kernel = sum(k1[k] - k0[k] for k in k0 if k in k1)
    return (u1 - u0, s1 - s0), rss_bytes(pids), kernel, faults


def run_citywatch(work, url, a, binary, overrides, tag):
    """Records the stream with `citywatch serve` for the window: (CPU
    (user, system), RSS, kernel-thread CPU, bytes written, page faults)."""
    data = os.path.join(work, f"data-{tag}")
    cams = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [20.46, 44.81]},
         "properties": {"id": f"b{i:04d}", "main_url": url}} for i in range(a.streams)]}
    with open(os.path.join(work, "cams.geojson"), "w") as f:
        json.dump(cams, f)
    subprocess.run([binary, "import", "cameras", os.path.join(work, "cams.geojson"), "--data", data], check=True, capture_output=True)
    if overrides:
        cfg = os.path.join(data, "citywatch.toml")
        with open(cfg) as f:
            lines = f.read().split("\n")
        for o in overrides:
            key, value = o.split("=", 1)
            hits = [i for i, l in enumerate(lines) if l.startswith(key.strip() + " = ")]
            assert hits, f"the config has no {key} to change"
            lines[hits[0]] = f"{key.strip()} = {value.strip()}"
        with open(cfg, "w") as f:
            f.write("\n".join(lines))
    listen = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, CITYWATCH_ADMIN_PASSWORD="bench-password-1", RUST_LOG="warn")
    log_path = os.path.join(work, f"server-{tag}.log")
    server_log = open(log_path, "w")
    server = subprocess.Popen([binary, "serve", "--data", data, "--listen", listen], env=env, stdout=subprocess.DEVNULL, stderr=server_log)
    try:
        time.sleep(15)  # recorders start within the 5 s reconcile period, then connect
        before, threads_before = indexed_bytes(data), thread_cpu(server.pid)
        cpu, rss, kernel, faults = measure([server.pid], a.seconds)
        written, threads = indexed_bytes(data) - before, cpu_by_thread_name(threads_before, thread_cpu(server.pid))
        if written == 0:
            with open(log_path) as f:
                tail = "".join(f.readlines()[-20:])
            if "Connection refused" in tail:
                raise SourceDied("citywatch recorded nothing: the source refuses connections")
            raise SystemExit("citywatch recorded nothing; its log ends:\n" + tail)
        if written < 0.5 * a.streams * int(a.kbps) * 1000 / 8 * a.seconds:
            # It stopped part way: the numbers would be of a lighter load.
            raise SourceDied(f"citywatch recorded {written * 8 / a.seconds / 1e6 / a.streams:.2f} Mbit/s per stream, under half the stream's")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    shutil.rmtree(data, ignore_errors=True)
    return cpu, rss, kernel, written, faults, threads


def run_ffmpeg(work, url, a):
    """The reference: one `ffmpeg -c copy -f segment` per stream."""
    outs = []
    procs = []
    shutil.rmtree(os.path.join(work, "ff"), ignore_errors=True)  # the last round's files
    for i in range(a.streams):
        d = os.path.join(work, "ff", str(i))
        os.makedirs(d)
        outs.append(d)
        procs.append(subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url,
                                       "-c", "copy", "-f", "segment", "-segment_time", "60", "-reset_timestamps", "1",
                                       os.path.join(d, "%03d.mp4")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        time.sleep(10)
        before = sum(dir_bytes(d) for d in outs)
        cpu, rss, kernel, faults = measure([p.pid for p in procs], a.seconds)
        written = sum(dir_bytes(d) for d in outs) - before
        if written < 0.5 * a.streams * int(a.kbps) * 1000 / 8 * a.seconds:
            # ffmpeg exits when the source goes away: a zero here would be
            # read as a free reference and every ratio would be wrong.
            raise SourceDied(f"ffmpeg recorded {written * 8 / a.seconds / 1e6 / a.streams:.2f} Mbit/s per stream, under half the stream's")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    return cpu, rss, kernel, written, faults


def with_source(a, run, tries=3):
    """`run(url)` against a fresh GStreamer RTSP source. gst-rtsp-server
    sometimes aborts while 50 clients set up at once
    (`gst_rtsp_media_get_rates: assertion failed`), most often while its
    shared media is still being prepared; so one client (an ffmpeg that
    discards what it gets, outside the measured processes) holds the media
    prepared before the others come, and a run whose source died anyway is
    repeated with a new source."""
    for attempt in range(tries):
        port = free_port()
        url = f"rtsp://127.0.0.1:{port}/test"
        source = subprocess.Popen(["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "rtsp_source.py"), str(port), a.kbps],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        holder = None
        try:
            assert source.stdout.readline().startswith(b"READY"), "the GStreamer source did not start"
            holder = subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "quiet", "-rtsp_transport", "tcp", "-i", url, "-c", "copy", "-f", "null", "-"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(3)
            return run(url)
        except SourceDied as e:
            if attempt + 1 < tries:
                print(f"  (the GStreamer source died ({e}); run repeated: attempt {attempt + 2} of {tries})", file=sys.stderr)
            else:
                print(f"  (the GStreamer source died ({e}))", file=sys.stderr)
        finally:
            if holder is not None:
                holder.terminate()
                holder.wait(timeout=30)
            source.terminate()
            source.wait(timeout=30)
    raise SystemExit(f"the GStreamer source died {tries} times")


class SourceDied(Exception):
    pass


def parse_variant(text, a):
    """LABEL[,bin=PATH][,KEY=VALUE...] -> (label, binary, [video overrides])."""
    label, *parts = text.split(",")
    binary, overrides = a.bin, list(a.video)
    for p in parts:
        key, value = p.split("=", 1)
        if key == "bin":
            binary = value
        else:
            overrides.append(p)
    return label, binary, overrides


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--kbps", default="2000")
    ap.add_argument("--bin", default=os.path.join(ROOT, "target/release/citywatch"))
    ap.add_argument("--commit-ms", type=int, help="[video] commit_interval_ms for citywatch (default: the config's)")
    ap.add_argument("--video", action="append", default=[], metavar="KEY=VALUE",
                    help="override a [video] setting of citywatch's config, e.g. read_batch_ms=0 or writer_threads=2 (repeatable)")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL[,bin=PATH][,KEY=VALUE...]",
                    help="A/B mode: record with each variant in turn (another binary, other [video] settings), "
                         "--rounds times, ffmpeg last in each round; prints each variant's runs against their round's ffmpeg")
    ap.add_argument("--rounds", type=int, default=1, help="with --variant: how many times each variant runs (interleaved)")
    a = ap.parse_args()
    if a.commit_ms is not None:
        a.video.append(f"commit_interval_ms={a.commit_ms}")

    work = tempfile.mkdtemp(prefix="cw-rec-bench-")
    try:
        if a.variant:
            variants = [parse_variant(v, a) for v in a.variant]
            runs = {label: [] for label, _, _ in variants}
            ffs = []
            for r in range(a.rounds):
                for i, (label, binary, overrides) in enumerate(variants):
                    runs[label].append(with_source(a, lambda url: run_citywatch(work, url, a, binary, overrides, f"{r}-{i}")))
                # ffmpeg's own cost drifts with the machine (8 to 15 CPU s
                # per stream-hour on one VM in one day), so it runs every
                # round and each run is compared with its own round's.
                ffs.append(with_source(a, lambda url: run_ffmpeg(work, url, a)))
        else:
            cw = with_source(a, lambda url: run_citywatch(work, url, a, a.bin, a.video, "0"))
            ff = with_source(a, lambda url: run_ffmpeg(work, url, a))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    hours = a.streams * a.seconds / 3600
    median = lambda xs: sorted(xs)[len(xs) // 2]
    if a.variant:
        print(f"Citywatch recording A/B: {a.streams} streams, {a.seconds} s windows, {a.rounds} round(s), interleaved, ffmpeg last in each round")
        ff_cpus = [sum(ff[0]) for ff in ffs]
        print(f"  ffmpeg -c copy: median {median(ff_cpus) / hours:.2f} CPU s per stream-hour (runs: {' '.join(f'{c / hours:.2f}' for c in ff_cpus)}); "
              f"{median([ff[4] for ff in ffs]) / hours:.0f} page faults per stream-hour; "
              f"wrote {min(ff[3] for ff in ffs) * 8 / a.seconds / 1e6 / a.streams:.2f} Mbit/s per stream")
        for label, binary, overrides in variants:
            cpus = [sum(run[0]) for run in runs[label]]
            ratios = [c / f for c, f in zip(cpus, ff_cpus)]
            rss = max(run[1] for run in runs[label]) / 2**20 / a.streams
            faults = median([run[4] for run in runs[label]]) / hours
            wrote = min(run[3] for run in runs[label]) * 8 / a.seconds / 1e6 / a.streams
            print(f"  {label:<14} median {median(ratios) * 100:5.1f}% of its round's ffmpeg (runs: {' '.join(f'{r * 100:5.1f}%' for r in ratios)}); "
                  f"median {median(cpus) / hours:.2f} CPU s per stream-hour; RSS {rss:.2f} MiB per stream; "
                  f"wrote >= {wrote:.2f} Mbit/s per stream; {faults:.0f} page faults per stream-hour"
                  f"   [{os.path.basename(binary)}{'; ' + ', '.join(overrides) if overrides else ''}]")
            kernel = [run[2] for run in runs[label]]
            names = sorted({n for run in runs[label] for n in run[5]}, key=lambda n: -median([run[5].get(n, 0.0) for run in runs[label]]))
            per_thread = ", ".join(f"{n} {median([run[5].get(n, 0.0) for run in runs[label]]):.2f}" for n in names[:6])
            print(f"  {'':<14} CPU s by thread (medians): {per_thread}; kernel threads meanwhile {median(kernel):.2f}")
        return
    ff_cpu = sum(ff[0])
    (cw_user, cw_sys), cw_rss, cw_kernel, cw_written, cw_faults, cw_threads = cw
    (ff_user, ff_sys), ff_rss, ff_kernel, ff_written, ff_faults = ff
    cw_cpu = cw_user + cw_sys
    cw_per_h, ff_per_h = cw_cpu / hours, ff_cpu / hours
    print("Citywatch recording benchmark")
    print(f"  {a.streams} streams of one shared {a.kbps} kbps 1280x720 15 fps H.264 source (GStreamer), {a.seconds} s measured")
    if a.video:
        print(f"  citywatch [video] overrides: {', '.join(a.video)}")
    print(f"  citywatch serve: {cw_cpu:7.2f} CPU s = {cw_per_h:8.2f} CPU s per stream-hour; RSS {cw_rss/2**20:7.1f} MiB = {cw_rss/2**20/a.streams:5.2f} MiB per stream; wrote {cw_written*8/a.seconds/1e6/a.streams:5.2f} Mbit/s per stream")
    print(f"  ffmpeg -c copy:  {ff_cpu:7.2f} CPU s = {ff_per_h:8.2f} CPU s per stream-hour; RSS {ff_rss/2**20:7.1f} MiB = {ff_rss/2**20/a.streams:5.2f} MiB per stream; wrote {ff_written*8/a.seconds/1e6/a.streams:5.2f} Mbit/s per stream")
    print(f"  user/system split: citywatch {cw_user:.2f}/{cw_sys:.2f} s, ffmpeg {ff_user:.2f}/{ff_sys:.2f} s")
    print(f"  citywatch CPU s by thread: {', '.join(f'{n} {s:.2f}' for n, s in sorted(cw_threads.items(), key=lambda t: -t[1])[:6])}")
    print(f"  page faults per stream-hour: citywatch {cw_faults/hours:.0f}, ffmpeg {ff_faults/hours:.0f}")
    print(f"  CPU: citywatch uses {cw_per_h/ff_per_h*100:5.1f}% of ffmpeg's (goal <= 10%)")
    # citywatch fdatasyncs every second, so it pays its own writeback; ffmpeg
    # never syncs, and its writeback runs in kernel threads, counted here.
    print(f"  kernel threads meanwhile (writeback, softirq, and whatever else runs): citywatch phase {cw_kernel:.2f} s, ffmpeg phase {ff_kernel:.2f} s")
    print(f"  CPU with those kernel threads added: citywatch uses {(cw_cpu + cw_kernel)/(ff_cpu + ff_kernel)*100:5.1f}% of ffmpeg's")
    print(f"  streams per core at this rate: citywatch {3600/cw_per_h:8.0f}, ffmpeg {3600/ff_per_h:6.0f} (goal >= 500)")
    print(f"  memory per stream: citywatch {cw_rss/2**20/a.streams:5.2f} MiB (goal < 2 MiB), ffmpeg {ff_rss/2**20/a.streams:5.2f} MiB")


if __name__ == "__main__":
    main()
