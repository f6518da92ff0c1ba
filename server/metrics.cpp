#include "server/metrics.h"

#include <algorithm>
#include <cstdio>

namespace ksearch {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

}  // namespace

void Metrics::Histogram::observe(double value) {
  const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  ++counts[static_cast<std::size_t>(bucket)];
  sum += value;
  ++total;
}

Metrics::Histogram Metrics::latency_histogram() {
  return size_histogram({0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
}

Metrics::Histogram Metrics::size_histogram(std::vector<double> bounds) {
  Histogram histogram;
  histogram.counts.assign(bounds.size() + 1, 0);
  histogram.bounds = std::move(bounds);
  return histogram;
}

void Metrics::record_request(std::string_view route, std::string_view method, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{std::string(route), std::string(method), status}];
  auto [it, inserted] = latency_.try_emplace(std::string(route), latency_histogram());
  it->second.observe(seconds);
}

void Metrics::record_forward_pass(std::size_t requests, std::size_t sequences, std::size_t tokens) {
  std::lock_guard lock(mutex_);
  batch_requests_.observe(static_cast<double>(requests));
  batch_sequences_.observe(static_cast<double>(sequences));
  batch_tokens_.observe(static_cast<double>(tokens));
}

std::string Metrics::render(const std::vector<Gauge>& gauges) const {
  const auto histogram = [](std::string& out, const std::string& name, const std::string& labels, const Histogram& h) {
    const std::string prefix = labels.empty() ? "{" : "{" + labels + ",";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.bounds.size(); ++i) {
      cumulative += h.counts[i];
      out += name + "_bucket" + prefix + "le=\"" + number(h.bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    out += name + "_bucket" + prefix + "le=\"+Inf\"} " + std::to_string(h.total) + "\n";
    const std::string plain = labels.empty() ? "" : "{" + labels + "}";
    out += name + "_sum" + plain + " " + number(h.sum) + "\n";
    out += name + "_count" + plain + " " + std::to_string(h.total) + "\n";
  };
  std::string out;
  std::lock_guard lock(mutex_);
  header(out, "ksearch_http_requests_total", "counter", "HTTP requests answered, by route, method and status.");
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out += "ksearch_http_requests_total{route=\"" + route + "\",method=\"" + method + "\",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(count) + "\n";
  }
  header(out, "ksearch_http_request_duration_seconds", "histogram", "Time from a complete request to its response.");
  for (const auto& [route, h] : latency_)
    histogram(out, "ksearch_http_request_duration_seconds", "route=\"" + route + "\"", h);
  header(out, "ksearch_model_batch_requests", "histogram", "Requests merged into one forward pass.");
  histogram(out, "ksearch_model_batch_requests", "", batch_requests_);
  header(out, "ksearch_model_batch_sequences", "histogram", "Sequences (texts) in one forward pass.");
  histogram(out, "ksearch_model_batch_sequences", "", batch_sequences_);
  header(out, "ksearch_model_batch_tokens", "histogram", "Tokens in one forward pass.");
  histogram(out, "ksearch_model_batch_tokens", "", batch_tokens_);
  header(out, "ksearch_http_open_connections", "gauge", "Open client connections.");
  out += "ksearch_http_open_connections " + std::to_string(open_connections_.load()) + "\n";
  for (const Gauge& gauge : gauges) {
    header(out, gauge.name, "gauge", gauge.help);
    out += gauge.name + " " + number(gauge.value) + "\n";
  }
  return out;
}

}  // namespace ksearch
