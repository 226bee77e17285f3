"""Prometheus metrics. One `Metrics` object per process, with its own registry, so that tests
and several apps in one process never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.http_requests = Counter(
            "switchboard_http_requests_total",
            "HTTP requests served, by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "switchboard_http_request_duration_seconds",
            "Time to serve an HTTP request, by route template.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http_errors = Counter(
            "switchboard_http_errors_total",
            "HTTP responses with status 500 or more, and requests that raised.",
            ["route", "method"],
            registry=self.registry,
        )
        self.adapter_calls = Counter(
            "switchboard_adapter_calls_total",
            "Calls to external systems, by target and outcome.",
            ["target", "method", "outcome"],
            registry=self.registry,
        )
        self.adapter_latency = Histogram(
            "switchboard_adapter_call_duration_seconds",
            "Duration of one attempt of a call to an external system.",
            ["target"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.breaker_open = Gauge(
            "switchboard_circuit_breaker_open",
            "1 while the circuit breaker of a target is open.",
            ["target"],
            registry=self.registry,
        )
        self.jobs = Gauge(
            "switchboard_jobs",
            "Jobs in the durable queue, by task and status (read from the database).",
            ["task", "status"],
            registry=self.registry,
        )
        self.job_runs = Counter(
            "switchboard_job_runs_total",
            "Jobs this worker process finished, by task and outcome.",
            ["task", "outcome"],
            registry=self.registry,
        )
        self.job_duration = Histogram(
            "switchboard_job_duration_seconds",
            "Time a job took in this worker process.",
            ["task"],
            buckets=(*LATENCY_BUCKETS, 60, 300, 900),
            registry=self.registry,
        )
        self.etl_runs = Counter(
            "switchboard_etl_runs_total",
            "ETL job runs in this process (queued or from the command line), by job and outcome.",
            ["job", "outcome"],
            registry=self.registry,
        )
        self.etl_rows = Counter(
            "switchboard_etl_rows_total",
            "Rows an ETL job received from the external system, by job.",
            ["job"],
            registry=self.registry,
        )
        self.etl_duration = Histogram(
            "switchboard_etl_duration_seconds",
            "Time an ETL job run took, by job.",
            ["job"],
            buckets=(*LATENCY_BUCKETS, 60, 300, 900, 3600),
            registry=self.registry,
        )
        self.etl_last_success = Gauge(
            "switchboard_etl_last_success_timestamp_seconds",
            "When an ETL job last finished without error in this process (Unix time), by job.",
            ["job"],
            registry=self.registry,
        )
        self.cache_hits = Counter(
            "switchboard_cache_requests_total",
            "In-process cache lookups, by cache and result (hit or miss).",
            ["cache", "result"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
