#!/usr/bin/env python3
"""Stand in for lbd with HAProxy or nginx, to check a vtc script itself.

    varnishtest -Dlbd=tests/vtc/reference_proxy.py -Dvtcdir=tests/vtc X.vtc
    REFERENCE_PROXY=nginx varnishtest ... X.vtc

Takes lbd's command line (-c FILE), reads the few values lbd_config.sh
writes (listener address, backends) and execs the reference proxy in the
foreground with an equivalent config: one worker, upstream keep-alive.
A new vector should pass where a reference proxy refuses it and fail where
it lets it through; that shows the script can tell the two apart.
Where HAProxy and nginx are lenient (e.g. bare LF, obs-fold), lbd is not.
"""
import os
import re
import sys

HAPROXY = """\
global
  log stderr format raw local0 info
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 10s
  timeout server 10s
  timeout http-request 10s
frontend web
  bind {listen}
  default_backend app
backend app
  http-reuse safe
{servers}
"""

NGINX = """\
worker_processes 1;
error_log stderr info;
pid {dir}/nginx.pid;
events {{ worker_connections 256; }}
http {{
  access_log /dev/stderr;
  client_body_temp_path {dir}/client_body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream app {{
{servers}
    keepalive 16;
  }}
  server {{
    listen {listen};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_request_buffering off;
      proxy_buffering off;
    }}
  }}
}}
"""


def main() -> None:
    config_path = sys.argv[sys.argv.index("-c") + 1]
    config = open(config_path).read()
    workdir = os.path.dirname(config_path)
    listen = re.search(r"^    listen: (\S+)$", config, re.M).group(1)
    backends = re.findall(r"\{name: (\S+), address: (\S+)\}", config)

    if os.environ.get("REFERENCE_PROXY", "haproxy") == "nginx":
        servers = "\n".join(f"    server {addr};" for _, addr in backends)
        path = os.path.join(workdir, "nginx.conf")
        with open(path, "w") as f:
            f.write(NGINX.format(dir=workdir, listen=listen, servers=servers))
        os.execvp("nginx", ["nginx", "-p", workdir, "-c", path,
                            "-g", "daemon off;"])
    servers = "\n".join(f"  server {name} {addr}" for name, addr in backends)
    path = os.path.join(workdir, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(HAPROXY.format(listen=listen, servers=servers))
    os.execvp("haproxy", ["haproxy", "-db", "-f", path])


if __name__ == "__main__":
    main()
