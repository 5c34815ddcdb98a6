"""The zc operations stack wired together."""
