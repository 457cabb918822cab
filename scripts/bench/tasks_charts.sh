# tasks of tome.chart (sourced by scripts/bench.sh; see the top of it)
#
# chart_top_ips: top_ips.lua against the same query that also draws its
#   result as a bar chart: the ratio is what charting adds (target < 5%).
# chart_hist: a histogram of 10 million numbers against building the
#   same list alone (the difference is the chart: well under 1 s).
task_chart_top_ips() {
  input log "top 10 client IPs, then drawn as bars"
  tome "$TOME $B/top_ips_chart.lua $IN"
  peer "tome, no chart" "$TOME $B/top_ips.lua $IN"
}

task_chart_hist() {
  input log "chart.hist of 10 million numbers (the log is not read)"
  tome "$TOME $B/chart_hist.lua 10000000"
  peer "tome, no chart" "$TOME $B/chart_hist.lua 10000000 nochart"
}

MORE_TASKS="$MORE_TASKS chart_top_ips chart_hist"
