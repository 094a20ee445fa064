#!/usr/bin/env bash
# Side-by-side benchmark: tarn vs Terraform 1.0.3 (+ hashicorp/null 2.1.2) on the same machine,
# in one run, on the same desired state (bench/gen-null.sh). Prints wall-clock seconds
# and the ratio Terraform/tarn for: fresh plan (median of three runs, for both), apply
# (parallelism 10), no-change re-plan, for N = 1,000 and 5,000, flat and chain. Then tarn alone: the fault provider at 20 ms latency
# (1,000 resources, parallelism 10; ideal 2 s; median of three), and N = 100,000 flat (time, peak memory).
#
#   bench/run.sh                 # everything (Terraform at N=5,000 takes several minutes)
#   SIZES="1000" bench/run.sh    # a quicker pass
#   SKIP_TF=1 bench/run.sh       # tarn only
#   TARN=/tmp/tarn-old bench/run.sh   # a tarn binary built already, instead of building one
#   SHAPES=flat bench/run.sh     # one shape (Terraform's chain at N=5,000 takes ~40 minutes)
# Then the module-heavy shape (bench/gen-modules.sh: one module, for_each over a map, count
# inside, intra-module references, the root reading whole module instances and a `for` over
# them) at MODULE_SIZES resources for tarn, with Terraform alongside at TF_MODULE_SIZES; each
# phase with its peak memory and its cost per resource.
#   MODULE_SIZES=" " bench/run.sh             # without the module-heavy shape
#   SIZES=" " SKIP_BIG=1 bench/run.sh         # the module-heavy shape alone (and the fault case)
#   MODULE_FORM=for bench/run.sh              # its variant reading the instances through a `for`
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
sizes=${SIZES:-"1000 5000"}
shapes=${SHAPES:-"flat chain"}
big=${BIG:-100000}
module_sizes=${MODULE_SIZES:-"2000 6500 20000 50000"}
module_form=${MODULE_FORM:-whole}
tf_module_sizes=${TF_MODULE_SIZES:-"2000"}
work=$(mktemp -d "${TMPDIR:-/tmp}/tarn-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

for p in time bc; do command -v "$p" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$p" >/dev/null; }; done
# TARN=path: a tarn binary built already (say, the one before a change, to compare in one run).
if [ -n "${TARN:-}" ]; then
  tarn=$TARN
else
  cargo build --locked --release --bin tarn >&2
  tarn="${CARGO_TARGET_DIR:-$root/target}/release/tarn"
fi
[ -n "${SKIP_TF:-}" ] || tf=$("$root/bench/terraform-peer.sh")

# t CMD... : runs CMD in the current directory, prints elapsed seconds to the millisecond (tarn's
# plans take tens of milliseconds: two decimals would put a 20% step into the ratios); output
# to a log.
t() {
  local start end
  start=$(date +%s.%N)
  "$@" >>"$work/log" 2>&1 || { echo "command failed: $*" >&2; tail -20 "$work/log" >&2; exit 1; }
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l | xargs printf '%.3f'
}
# m3 CMD... : runs CMD three times (see t), prints the median. For the fresh plan of both tools
# alike: it writes nothing (so each run is as fresh as the first), and tarn's figure is tens of
# milliseconds, where one run is at the mercy of a neighbour on a shared VM.
m3() { printf '%s\n' "$(t "$@")" "$(t "$@")" "$(t "$@")" | sort -n | sed -n 2p; }
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.1f'; }

printf '%-7s %-6s %-9s %10s %10s %8s\n' N shape phase terraform tarn ratio
for n in $sizes; do
  for shape in $shapes; do
    d="$work/$n-$shape"
    "$root/bench/gen-null.sh" "$n" "$d" "$shape"
    (cd "$d/tarn"
      tp=$(m3 "$tarn" plan --refresh=false)
      ta=$(t "$tarn" apply --auto-approve --parallelism 10)
      tr=$(t "$tarn" plan)
      if [ -z "${SKIP_TF:-}" ]; then
        cd "$d/tf"
        "$tf" init -input=false >>"$work/log" 2>&1
        fp=$(m3 "$tf" plan -input=false -refresh=false)
        fa=$(t "$tf" apply -input=false -auto-approve -parallelism=10)
        fr=$(t "$tf" plan -input=false)
      else fp=0; fa=0; fr=0; fi
      for row in "plan $fp $tp" "apply $fa $ta" "re-plan $fr $tr"; do
        set -- $row
        printf '%-7s %-6s %-9s %10s %10s %7sx\n' "$n" "$shape" "$1" "$2" "$3" "$(ratio "$2" "$3")"
      done)
  done
done

# tm CMD... : like t (to the millisecond: time's own %e has two decimals), and the peak
# resident memory in MiB after the seconds ("0.123 45").
tm() {
  local start end kib
  start=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$work/time" "$@" >>"$work/log" 2>&1 \
    || { echo "command failed: $*" >&2; tail -20 "$work/log" >&2; exit 1; }
  end=$(date +%s.%N)
  read -r kib <"$work/time"
  printf '%.3f %.0f' "$(echo "$end - $start" | bc -l)" "$(echo "$kib/1024" | bc -l)"
}
# tm3 CMD... : tm three times; the median time and the largest peak.
tm3() {
  printf '%s\n' "$(tm "$@")" "$(tm "$@")" "$(tm "$@")" | sort -n | awk '{s[NR]=$1; if ($2>m) m=$2} END {print s[2], m}'
}
us() { echo "$1 * 1000000 / $2" | bc -l | xargs printf '%.0f'; }

if [ -n "${module_sizes// /}" ]; then
  echo
  echo "module-heavy shape (bench/gen-modules.sh, form $module_form; time in s, peak memory in MiB, cost per resource in µs):"
  printf '%-7s %-9s %10s %10s %8s %9s %8s\n' N phase terraform tarn ratio "tarn MiB" "µs/res"
  for n in $module_sizes; do
    d="$work/modules-$n"
    "$root/bench/gen-modules.sh" "$n" "$d" "$module_form"
    res=$(( (n / 8) * 8 + 1 ))
    (cd "$d/tarn"
      read -r tp tpm <<<"$(tm3 "$tarn" plan --refresh=false)"
      read -r ta tam <<<"$(tm "$tarn" apply --auto-approve --parallelism 10)"
      read -r tr trm <<<"$(tm "$tarn" plan)"
      fp=-; fa=-; fr=-
      if [ -z "${SKIP_TF:-}" ] && [[ " $tf_module_sizes " == *" $n "* ]]; then
        cd "$d/tf"
        "$tf" init -input=false >>"$work/log" 2>&1
        fp=$(m3 "$tf" plan -input=false -refresh=false)
        fa=$(t "$tf" apply -input=false -auto-approve -parallelism=10)
        fr=$(t "$tf" plan -input=false)
      fi
      for row in "plan $fp $tp $tpm" "apply $fa $ta $tam" "re-plan $fr $tr $trm"; do
        set -- $row
        r=-; [ "$2" = - ] || r="$(ratio "$2" "$3")x"
        printf '%-7s %-9s %10s %10s %8s %9s %8s\n' "$res" "$1" "$2" "$3" "$r" "$4" "$(us "$3" "$res")"
      done)
  done
fi

echo
echo "fault provider, 1,000 independent resources at 20 ms, parallelism 10 (ideal 2.00 s):"
d="$work/fault"; mkdir -p "$d"
cat >"$d/main.tarn.hcl" <<HCL
provider "fault" {
  latency_ms = 20
}

resource "fault_object" "o" {
  count = 1000
  name  = "o\${count.index}"
}
HCL
# Three fresh applies (a 2 s figure on a shared VM is at the mercy of a neighbour): each, then
# the median. Run before the N=$big case, whose gigabyte of state is still being written back
# to disk for a while after it ends.
(cd "$d"
  runs=()
  for i in 1 2 3; do
    rm -rf .tarn
    runs+=("$(t "$tarn" apply --auto-approve --parallelism 10)")
  done
  med=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p)
  printf '  apply %s s (runs: %s; median %.2fx ideal)\n' "$med" "${runs[*]}" "$(echo "$med / 2" | bc -l)")

[ -z "${SKIP_BIG:-}" ] || exit 0
echo
echo "tarn alone, N=$big flat:"
d="$work/big"; "$root/bench/gen-null.sh" "$big" "$d" flat
(cd "$d/tarn"
  for phase in "apply --auto-approve --parallelism 10" "plan"; do
    /usr/bin/time -f "%e %M" -o "$work/time" "$tarn" $phase >>"$work/log" 2>&1
    read -r secs kib <"$work/time"
    printf '  %-8s %8.2f s  peak %6.0f MiB\n' "${phase%% *}" "$secs" "$(echo "$kib/1024" | bc -l)"
  done)
