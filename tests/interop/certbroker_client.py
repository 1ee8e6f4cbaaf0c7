#!/usr/bin/python3
"""certbroker_client: a small command-line client for certbrokerd.

It talks to the certbroker.v1.CertificateBroker gRPC API
(protos/certbroker/v1/broker.proto) with Python's grpcio. The Python code for
the protos is generated on first use with grpc_tools.protoc and cached in
  $CERTBROKER_PYPROTO_DIR/pyproto-<hash>          when that variable is set,
  ${XDG_CACHE_HOME:-~/.cache}/certbroker/pyproto-<hash>   otherwise,
where <hash> covers the proto sources and the protoc version, so editing a
proto regenerates the code.

Needs Debian's python3-grpcio and python3-grpc-tools, which belong to
/usr/bin/python3 (hence the shebang).

Examples:
  certbroker_client.py policy --host api.example.test
  certbroker_client.py --broker 127.0.0.1:8443 -o json policy --url https://api.example.test/
  certbroker_client.py client-cert --host api.example.test \\
      --out-chain client-chain.pem --out-key client.key
  certbroker_client.py server-cert --host api.example.test --chain server-chain.pem

Exit codes: 0 the call succeeded (server-cert: the chain was accepted),
3 server-cert: the chain was rejected, 1 the call failed (the gRPC status is
printed to stderr), 2 usage error or unreadable input file.

With -o json the response is printed with protobuf's JSON mapping (proto
field names, bytes as base64), except that client-cert leaves out
private_key: use --out-key to save it.

The helpers (load_api, connect, make_stub, read_pem_certificates, ...) can be
imported; the interop test (test_python_client.py) uses them.
"""

import argparse
import base64
import collections
import functools
import hashlib
import importlib
import inspect
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import grpc
import grpc_tools
from google.protobuf import json_format
from grpc_tools import protoc

# protos/ of this repository, found relative to this file (tests/interop/).
PROTO_ROOT = Path(__file__).resolve().parent.parent.parent / "protos"
BROKER_PROTO = "certbroker/v1/broker.proto"
# google/protobuf/*.proto as shipped with grpc_tools.
WELL_KNOWN_PROTOS = Path(grpc_tools.__file__).resolve().parent / "_proto"

DEFAULT_BROKER = "unix:var/certbrokerd.sock"
DEFAULT_TIMEOUT_SECONDS = 5.0

EXIT_OK = 0
EXIT_RPC_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED = 3

# The generated modules: `messages` is broker_pb2, `services` broker_pb2_grpc.
Api = collections.namedtuple("Api", ["messages", "services"])

_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\s*(.*?)-----END CERTIFICATE-----", re.DOTALL)


class UsageError(Exception):
    """Bad command-line input; reported with exit code 2."""


# --- Generating and loading the Python code for the protos -----------------

def proto_cache_base():
    """Returns the directory that holds the generated-code cache entries."""
    configured = os.environ.get("CERTBROKER_PYPROTO_DIR")
    if configured:
        return Path(configured)
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "certbroker"


def _sources_digest(include_dir, files):
    """Hashes the proto files' names and contents and the protoc version."""
    digest = hashlib.sha256()
    digest.update(protoc.__file__.encode())
    digest.update(str(SYSTEM_PROTOC.is_file()).encode())
    digest.update(getattr(grpc, "__version__", "").encode())
    for name in sorted(files):
        digest.update(name.encode() + b"\0")
        digest.update((Path(include_dir) / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


# Debian's protoc and gRPC plugin (protobuf-compiler, protobuf-compiler-grpc)
# match the python3-protobuf runtime; the protoc inside Debian's grpc_tools is
# far older (3.5) and cannot read proto3 `optional`, which admin.proto uses.
SYSTEM_PROTOC = Path("/usr/bin/protoc")
SYSTEM_GRPC_PYTHON_PLUGIN = Path("/usr/bin/grpc_python_plugin")


def _run_protoc(include_dir, files, out_dir, with_services):
    """Runs protoc; raises RuntimeError when it fails."""
    includes = [f"-I{include_dir}", f"-I{WELL_KNOWN_PROTOS}"]
    if SYSTEM_PROTOC.is_file() and (not with_services or SYSTEM_GRPC_PYTHON_PLUGIN.is_file()):
        args = [str(SYSTEM_PROTOC), *includes, f"--python_out={out_dir}"]
        if with_services:
            args += [f"--plugin=protoc-gen-grpc_python={SYSTEM_GRPC_PYTHON_PLUGIN}",
                     f"--grpc_python_out={out_dir}"]
        result = subprocess.run(args + list(files), capture_output=True, text=True,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"protoc failed for {', '.join(files)} in {include_dir}: "
                               f"{result.stderr.strip()}")
        return
    args = ["protoc", *includes, f"--python_out={out_dir}"]
    if with_services:
        args.append(f"--grpc_python_out={out_dir}")
    if protoc.main(args + list(files)) != 0:
        raise RuntimeError(f"protoc failed for {', '.join(files)} in {include_dir}")


def compile_protos(include_dir, files, prefix="pyproto", with_services=True):
    """Generates Python code for `files` (paths relative to `include_dir`).

    Returns the cache directory holding the generated modules; it is reused
    while the sources stay the same. The directory is built under a temporary
    name and renamed into place, so concurrent runs never see half of it.
    """
    base = proto_cache_base()
    final_dir = base / f"{prefix}-{_sources_digest(include_dir, files)}"
    if final_dir.is_dir():
        return final_dir
    base.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=base))
    try:
        _run_protoc(include_dir, files, work_dir, with_services)
        os.rename(work_dir, final_dir)
    except OSError:
        if not final_dir.is_dir():  # Not just a concurrent run that won.
            raise
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return final_dir


@functools.lru_cache(maxsize=None)
def load_api():
    """Generates (if needed) and imports the certbroker.v1 Python modules."""
    generated = str(compile_protos(PROTO_ROOT, [BROKER_PROTO]))
    if generated not in sys.path:
        sys.path.insert(0, generated)
    return Api(messages=importlib.import_module("certbroker.v1.broker_pb2"),
               services=importlib.import_module("certbroker.v1.broker_pb2_grpc"))


# --- Talking to the broker --------------------------------------------------

def connect(address):
    """Opens a plaintext channel to `address`: "HOST:PORT" or "unix:PATH"."""
    if not address:
        raise UsageError("--broker must not be empty")
    return grpc.insecure_channel(address)


def make_stub(channel):
    """Returns a CertificateBroker stub on `channel`."""
    return load_api().services.CertificateBrokerStub(channel)


def make_target(host="", port=0, url="", sni=""):
    """Builds a certbroker.v1.Target."""
    return load_api().messages.Target(host=host or "", port=port or 0,
                                      url=url or "", sni=sni or "")


# --- PEM and DER ------------------------------------------------------------

def read_pem_certificates(path):
    """Returns the DER of every CERTIFICATE block in the PEM file at `path`."""
    data = Path(path).read_bytes()
    chain = [base64.b64decode(b"".join(match.group(1).split()), validate=True)
             for match in _PEM_CERTIFICATE.finditer(data)]
    if not chain:
        raise ValueError(f"{path}: no PEM certificates found")
    return chain


def private_key_to_pem(pkcs8_der):
    """Wraps a PKCS#8 DER private key as PEM text."""
    body = base64.b64encode(pkcs8_der).decode()
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END PRIVATE KEY-----\n"


def write_file(path, text, private=False):
    """Writes `text` to `path`; private files are created with mode 0600."""
    mode = 0o600 if private else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)


# --- Output -----------------------------------------------------------------

def _json_default_fields_option():
    """Names MessageToJson's "print fields that have default values" option."""
    parameters = inspect.signature(json_format.MessageToJson).parameters
    for name in ("always_print_fields_with_no_presence", "including_default_value_fields"):
        if name in parameters:
            return {name: True}
    return {}


def message_to_json(message):
    """Renders `message` as JSON with proto field names and default values."""
    return json_format.MessageToJson(message, preserving_proto_field_name=True,
                                     **_json_default_fields_option())


def message_to_dict(message):
    """Like message_to_json, as a dict (durations/timestamps as JSON strings)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     **_json_default_fields_option())


def print_summary(message, field_names):
    """Prints `name: value` lines for the named fields of `message`."""
    values = message_to_dict(message)
    for name in field_names:
        value = values.get(name, "")
        if isinstance(value, bool):
            value = str(value).lower()
        print(f"{name}: {value}")


# --- Subcommands --------------------------------------------------------------

def target_from_args(args):
    """Builds the request's Target from --host/--port/--url/--sni."""
    if not args.host and not args.url:
        raise UsageError("give --host or --url")
    return make_target(args.host, args.port, args.url, args.sni)


def run_policy(stub, args):
    """policy: GetCertificatePolicy for the target."""
    request = load_api().messages.GetCertificatePolicyRequest(target=target_from_args(args))
    response = stub.GetCertificatePolicy(request, timeout=args.timeout)
    if args.output == "json":
        print(message_to_json(response))
    else:
        print_summary(response, ["rule_name", "validation_mode", "override_automatic_check",
                                 "client_certificate_available", "policy_version", "cache_ttl"])
    return EXIT_OK


def run_client_cert(stub, args):
    """client-cert: GetClientCertificate; optionally saves the chain and key."""
    request = load_api().messages.GetClientCertificateRequest(target=target_from_args(args))
    response = stub.GetClientCertificate(request, timeout=args.timeout)
    if args.out_chain:
        write_file(args.out_chain, "".join(ssl.DER_cert_to_PEM_cert(der)
                                           for der in response.certificate_chain))
    if args.out_key:
        if not response.private_key:
            print("error: the broker returned no private key", file=sys.stderr)
            return EXIT_RPC_ERROR
        write_file(args.out_key, private_key_to_pem(response.private_key), private=True)
    # The private key is a secret: never print it, only say whether it came.
    if args.output == "json":
        fields = message_to_dict(response)
        fields.pop("private_key", None)
        print(json.dumps(fields, indent=2))
    else:
        print_summary(response, ["certificate_id", "rule_name", "not_after", "refresh_after",
                                 "policy_version"])
        print(f"certificates: {len(response.certificate_chain)}")
        print(f"private_key: {'present' if response.private_key else 'absent'}")
    return EXIT_OK


def run_server_cert(stub, args):
    """server-cert: OnServerCertificate for the chain in a PEM file."""
    try:
        chain = read_pem_certificates(args.chain)
    except (OSError, ValueError) as error:
        raise UsageError(f"--chain: {error}") from error
    request = load_api().messages.OnServerCertificateRequest(
        target=target_from_args(args), server_name=args.server_name or "",
        certificate_chain=chain)
    response = stub.OnServerCertificate(request, timeout=args.timeout)
    if args.output == "json":
        print(message_to_json(response))
    else:
        print_summary(response, ["accepted", "reason", "detail", "rule_name", "decision_id",
                                 "policy_version", "cache_ttl"])
    return EXIT_OK if response.accepted else EXIT_REJECTED


def _add_target_options(parser):
    """Adds the options that describe the target connection."""
    parser.add_argument("--host", default="", help="server DNS name or IP address")
    parser.add_argument("--port", type=int, default=0, help="server TCP port (0: default)")
    parser.add_argument("--url", default="", help="full URL, e.g. https://host:8443/path")
    parser.add_argument("--sni", default="", help="TLS server name, when it differs from --host")


def build_parser():
    """Returns the command-line parser."""
    parser = argparse.ArgumentParser(
        prog="certbroker_client.py",
        description="Ask certbrokerd about a TLS target.",
        epilog="Exit codes: 0 ok/accepted, 1 RPC error, 2 usage error, 3 rejected.")
    parser.add_argument("--broker", default=DEFAULT_BROKER,
                        help=f"broker address, HOST:PORT or unix:PATH (default {DEFAULT_BROKER})")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS,
                        help="RPC deadline in seconds (default %(default)s)")
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text",
                        help="output format (default text)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    policy = commands.add_parser("policy", help="GetCertificatePolicy")
    _add_target_options(policy)
    policy.set_defaults(run=run_policy)

    client_cert = commands.add_parser("client-cert", help="GetClientCertificate")
    _add_target_options(client_cert)
    client_cert.add_argument("--out-chain", help="write the chain here as PEM")
    client_cert.add_argument("--out-key", help="write the private key here as PEM (mode 0600)")
    client_cert.set_defaults(run=run_client_cert)

    server_cert = commands.add_parser("server-cert", help="OnServerCertificate")
    _add_target_options(server_cert)
    server_cert.add_argument("--chain", required=True,
                             help="PEM file with the server's chain, leaf first")
    server_cert.add_argument("--server-name", default="",
                             help="name to verify (default: --sni, else --host)")
    server_cert.set_defaults(run=run_server_cert)
    return parser


def main(argv=None):
    """Runs the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    try:
        with connect(args.broker) as channel:
            return args.run(make_stub(channel), args)
    except UsageError as error:
        parser.error(str(error))  # Exits with code 2.
    except grpc.RpcError as error:
        print(f"error: {error.code().name}: {error.details()}", file=sys.stderr)
        return EXIT_RPC_ERROR


if __name__ == "__main__":
    sys.exit(main())
