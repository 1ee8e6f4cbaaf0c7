#!/usr/bin/python3
"""Interop test: a Python grpcio client against a real certbrokerd.

Generates a development PKI with certbroker-devpki, starts certbrokerd on a
loopback TCP port and a Unix socket, and checks every CertificateBroker
method (and certbroker_client.py, the command-line client) over the wire.

Run: /usr/bin/python3 tests/interop/test_python_client.py
Environment: CERTBROKERD and CERTBROKER_DEVPKI name the binaries (default:
the ones under build/); CERTBROKER_PYPROTO_DIR is where the generated proto
code is cached (see certbroker_client.py).
"""

import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import certbroker_client as client  # noqa: E402  (needs the path above)
from broker_daemon import BrokerDaemon  # noqa: E402

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric import utils as asym_utils
except ImportError:  # The key checks then only look at the DER's first byte.
    x509 = None

REPO_ROOT = HERE.parent.parent
CLIENT_SCRIPT = HERE / "certbroker_client.py"
DEVPKI = os.environ.get("CERTBROKER_DEVPKI") or str(
    REPO_ROOT / "build/broker/devpki/certbroker-devpki")

RPC_TIMEOUT_SECONDS = 5
CLI_TIMEOUT_SECONDS = 60

CONFIG_YAML = """\
trust_bundles:
  - name: dev-roots
    pem_file: pki/ca.pem
certificates:
  - id: dev-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
    exportable: true
  - id: locked-client
    chain_pem_file: pki/client-chain.pem
    key_pem_file: pki/client.key
rules:
  - name: example-test
    match: { hosts: ["*.example.test", localhost, 127.0.0.1] }
    client_certificate: dev-client
    server_validation: { trust_bundles: [dev-roots], mode: BROKER }
  - name: locked
    match: { hosts: [locked.example.test] }
    client_certificate: locked-client
    server_validation: { trust_bundles: [dev-roots], mode: BROKER }
inbound_rules:
  - name: py-inbound
    match: { listeners: [py-in], server_names: ["*"] }
    peer_validation: { trust_bundles: [dev-roots] }
    allowed_peers: [certbroker-dev-client]
"""

# Where a grpc.health.v1 health.proto may be installed.
HEALTH_PROTO_CANDIDATES = [
    Path("/usr/include/grpc/health/v1/health.proto"),
    Path("/usr/local/include/grpc/health/v1/health.proto"),
    Path("/usr/share/grpc/health/v1/health.proto"),
    client.WELL_KNOWN_PROTOS / "grpc/health/v1/health.proto",
]
HEALTH_CHECK_METHOD = "/grpc.health.v1.Health/Check"
BROKER_SERVICE = "certbroker.v1.CertificateBroker"


def load_health_messages():
    """Returns a module with HealthCheckRequest/Response, or None if unavailable.

    Uses grpcio-health-checking when installed, else compiles an installed
    health.proto (messages only, loaded by file path so that its package
    name, grpc.health.v1, cannot clash with the grpc package).
    """
    try:
        from grpc_health.v1 import health_pb2
        return health_pb2
    except ImportError:
        pass
    proto = next((path for path in HEALTH_PROTO_CANDIDATES if path.is_file()), None)
    if proto is None:
        return None
    generated = client.compile_protos(proto.parent, [proto.name], prefix="health",
                                      with_services=False)
    spec = importlib.util.spec_from_file_location(
        "certbroker_interop_health_pb2", generated / "health_pb2.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PythonClientInteropTest(unittest.TestCase):
    """Calls a live certbrokerd over TCP and a Unix socket."""

    @classmethod
    def setUpClass(cls):
        cls.api = client.load_api()
        cls.pb = cls.api.messages
        cls.work_dir = Path(tempfile.mkdtemp(prefix="certbroker-interop-"))
        cls.addClassCleanup(shutil.rmtree, cls.work_dir, ignore_errors=True)
        cls.pki = cls.work_dir / "pki"
        subprocess.run([DEVPKI, "--out", str(cls.pki)], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        cls.daemon = BrokerDaemon(cls.work_dir)
        config = cls.work_dir / "config.yaml"
        config.write_text(CONFIG_YAML)
        cls.daemon.arguments = ["--config", str(config)]
        cls.addClassCleanup(cls.daemon.kill)
        cls.daemon.start()
        cls.tcp_address = cls.daemon.addresses[0]
        cls.unix_address = f"unix:{cls.daemon.socket}"
        cls.tcp_channel = client.connect(cls.tcp_address)
        cls.addClassCleanup(cls.tcp_channel.close)
        cls.unix_channel = client.connect(cls.unix_address)
        cls.addClassCleanup(cls.unix_channel.close)
        cls.tcp_stub = client.make_stub(cls.tcp_channel)
        cls.stub = client.make_stub(cls.unix_channel)

    @classmethod
    def tearDownClass(cls):
        cls.tcp_channel.close()
        cls.unix_channel.close()
        cls.daemon.stop_expecting_success()

    # --- helpers ---

    def pem_chain(self, name):
        """DER certificates of a PEM file written by certbroker-devpki."""
        return client.read_pem_certificates(self.pki / name)

    def get_policy(self, host, stub=None):
        request = self.pb.GetCertificatePolicyRequest(target=client.make_target(host))
        return (stub or self.stub).GetCertificatePolicy(request, timeout=RPC_TIMEOUT_SECONDS)

    def get_client_certificate(self, host):
        request = self.pb.GetClientCertificateRequest(target=client.make_target(host))
        return self.stub.GetClientCertificate(request, timeout=RPC_TIMEOUT_SECONDS)

    def judge_server_chain(self, host, chain, server_name=""):
        request = self.pb.OnServerCertificateRequest(
            target=client.make_target(host), server_name=server_name, certificate_chain=chain)
        return self.stub.OnServerCertificate(request, timeout=RPC_TIMEOUT_SECONDS)

    def assert_rpc_error(self, code, call, *args):
        """Runs call(*args), expects an RPC error with `code`; returns its details."""
        with self.assertRaises(grpc.RpcError) as raised:
            call(*args)
        self.assertEqual(raised.exception.code(), code, raised.exception.details())
        return raised.exception.details()

    def run_cli(self, *args):
        """Runs certbroker_client.py against the Unix socket."""
        return subprocess.run(
            [sys.executable, str(CLIENT_SCRIPT), "--broker", self.unix_address, *args],
            capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS)

    def assert_rejected(self, response, reason, rule_name="example-test"):
        self.assertFalse(response.accepted, response.detail)
        self.assertEqual(self.pb.Reason.Name(response.reason), reason, response.detail)
        self.assertEqual(response.rule_name, rule_name)
        self.assertTrue(response.detail)

    # --- the daemon ---

    def test_ready_file_lists_tcp_then_unix_address(self):
        self.assertEqual(len(self.daemon.addresses), 2, self.daemon.addresses)
        self.assertRegex(self.tcp_address, r"^127\.0\.0\.1:[1-9][0-9]*$")
        self.assertEqual(self.daemon.addresses[1], self.unix_address)

    # --- GetCertificatePolicy ---

    def assert_example_test_policy(self, policy):
        self.assertEqual(policy.rule_name, "example-test")
        self.assertTrue(policy.override_automatic_check)
        self.assertTrue(policy.client_certificate_available)
        self.assertEqual(policy.validation_mode, self.pb.BROKER)
        self.assertNotEqual(policy.policy_version, "")
        self.assertGreater(policy.cache_ttl.ToTimedelta().total_seconds(), 0)

    def test_policy_over_tcp(self):
        self.assert_example_test_policy(self.get_policy("api.example.test", self.tcp_stub))

    def test_policy_over_unix_socket(self):
        self.assert_example_test_policy(self.get_policy("api.example.test", self.stub))

    def test_policy_for_unmatched_host_is_fail_closed_default(self):
        policy = self.get_policy("other.invalid")
        self.assertEqual(policy.rule_name, "")
        self.assertTrue(policy.override_automatic_check)
        self.assertFalse(policy.client_certificate_available)
        self.assertEqual(policy.validation_mode, self.pb.BROKER)
        self.assertNotEqual(policy.policy_version, "")

    def test_policy_version_is_the_same_over_both_listeners(self):
        self.assertEqual(self.get_policy("api.example.test", self.tcp_stub).policy_version,
                         self.get_policy("other.invalid", self.stub).policy_version)

    # --- GetClientCertificate ---

    def test_client_certificate_for_matching_host(self):
        response = self.get_client_certificate("api.example.test")
        expected_chain = self.pem_chain("client-chain.pem")
        self.assertEqual(len(response.certificate_chain), 2)
        self.assertEqual(response.certificate_chain[0], expected_chain[0])
        self.assertEqual(list(response.certificate_chain), expected_chain)
        self.assertEqual(response.certificate_id, "dev-client")
        self.assertEqual(response.rule_name, "example-test")
        self.assertNotEqual(response.policy_version, "")
        now = time.time()
        self.assertGreater(response.not_after.seconds, now)
        self.assertGreater(response.refresh_after.seconds, now)
        self.assertLess(response.refresh_after.seconds, response.not_after.seconds)

    def test_client_certificate_private_key_matches_leaf(self):
        response = self.get_client_certificate("api.example.test")
        self.assertTrue(response.private_key)
        self.assertEqual(response.private_key[0], 0x30)  # A DER SEQUENCE.
        if x509 is None:
            self.skipTest("python3-cryptography not installed; only the DER tag was checked")
        key = serialization.load_der_private_key(response.private_key, password=None)
        leaf = x509.load_der_x509_certificate(response.certificate_chain[0])
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        self.assertEqual(key.public_key().public_bytes(serialization.Encoding.DER, spki),
                         leaf.public_key().public_bytes(serialization.Encoding.DER, spki))

    def test_client_certificate_denied_for_unmatched_host(self):
        details = self.assert_rpc_error(grpc.StatusCode.PERMISSION_DENIED,
                                        self.get_client_certificate, "other.invalid")
        self.assertIn("no rule gives 'dev:insecure-loopback' a client certificate", details)

    def test_client_certificate_not_exportable_signs_through_the_broker(self):
        policy = self.get_policy("locked.example.test")
        self.assertEqual(policy.rule_name, "locked")
        self.assertTrue(policy.client_certificate_available)
        response = self.get_client_certificate("locked.example.test")
        self.assertEqual(response.private_key, b"")
        self.assertTrue(response.key_handle.handle)
        self.assertEqual(list(response.key_handle.signature_algorithms), [0x0403])
        self.assertGreater(response.key_handle.expires.seconds, time.time())
        digest = hashlib.sha256(b"python agent transcript").digest()
        signed = self.stub.Sign(
            self.pb.SignRequest(key_handle=response.key_handle.handle, algorithm=0x0403,
                                input=digest),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(signed.signature[0], 0x30)  # A DER ECDSA-Sig-Value.
        details = self.assert_rpc_error(
            grpc.StatusCode.INVALID_ARGUMENT, self.stub.Sign,
            self.pb.SignRequest(key_handle=response.key_handle.handle, algorithm=0x0403,
                                input=digest[:31]))
        self.assertEqual(details, "certificate 'locked-client': input is 31 bytes; "
                         "ecdsa_secp256r1_sha256 signs a SHA-256 digest of 32 bytes")
        if x509 is None:
            self.skipTest("python3-cryptography not installed; the signature was not verified")
        leaf = x509.load_der_x509_certificate(response.certificate_chain[0])
        leaf.public_key().verify(signed.signature, digest,
                                 ec.ECDSA(asym_utils.Prehashed(hashes.SHA256())))

    def test_watch_client_certificate_sends_the_current_certificate(self):
        request = self.pb.WatchClientCertificateRequest(
            target=client.make_target("api.example.test"))
        stream = self.stub.WatchClientCertificate(request, timeout=RPC_TIMEOUT_SECONDS)
        first = next(stream)
        stream.cancel()
        self.assertTrue(first.HasField("certificate"), first.unavailable_message)
        self.assertEqual(first.certificate.certificate_id, "dev-client")
        self.assertEqual(list(first.certificate.certificate_chain),
                         self.pem_chain("client-chain.pem"))
        self.assertNotEqual(first.policy_version, "")

    # --- the TLS-server side ---

    def test_negotiation_policy_requires_and_names_the_ca(self):
        response = self.stub.GetNegotiationPolicy(
            self.pb.GetNegotiationPolicyRequest(
                listener=self.pb.Listener(name="py-in", sni="api.example.test")),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(self.pb.ClientCertificateMode.Name(response.mode), "REQUIRE")
        self.assertEqual(response.rule_name, "py-inbound")
        self.assertEqual(len(response.acceptable_ca_names), 1)
        if x509 is not None:
            root = x509.load_der_x509_certificate(self.pem_chain("ca.pem")[0])
            self.assertEqual(response.acceptable_ca_names[0], root.subject.public_bytes())

    def test_client_certificate_of_a_peer_is_judged_and_named(self):
        chain = self.pem_chain("client-chain.pem")
        response = self.stub.OnClientCertificate(
            self.pb.OnClientCertificateRequest(listener=self.pb.Listener(name="py-in"),
                                               certificate_chain=chain),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertTrue(response.accepted, response.detail)
        self.assertEqual(response.peer.identity, "certbroker-dev-client")
        self.assertEqual(response.peer.certificate_sha256, hashlib.sha256(chain[0]).digest())
        missing = self.stub.OnClientCertificate(
            self.pb.OnClientCertificateRequest(listener=self.pb.Listener(name="py-in")),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertFalse(missing.accepted)
        self.assertEqual(self.pb.Reason.Name(missing.reason), "CLIENT_CERTIFICATE_MISSING")

    # --- OnServerCertificate ---

    def test_server_certificate_good_chain_is_accepted(self):
        response = self.judge_server_chain("api.example.test", self.pem_chain("server-chain.pem"))
        self.assertTrue(response.accepted, response.detail)
        self.assertEqual(response.reason, self.pb.ACCEPTED)
        self.assertRegex(response.decision_id, r"^[0-9a-fA-F]{32}$")
        self.assertEqual(response.rule_name, "example-test")
        self.assertNotEqual(response.policy_version, "")
        self.assertGreater(response.cache_ttl.ToTimedelta().total_seconds(), 0)

    def test_server_certificate_decision_ids_differ(self):
        chain = self.pem_chain("server-chain.pem")
        first = self.judge_server_chain("api.example.test", chain)
        second = self.judge_server_chain("api.example.test", chain)
        self.assertNotEqual(first.decision_id, second.decision_id)

    def test_server_certificate_wrong_server_name(self):
        response = self.judge_server_chain("api.example.test", self.pem_chain("server-chain.pem"),
                                           server_name="wrong.example.test")
        self.assert_rejected(response, "HOSTNAME_MISMATCH")

    def test_server_certificate_untrusted_root(self):
        response = self.judge_server_chain("api.example.test",
                                           self.pem_chain("untrusted-server-chain.pem"))
        self.assert_rejected(response, "INCOMPLETE_CHAIN")

    def test_server_certificate_unmatched_host(self):
        response = self.judge_server_chain("other.invalid", self.pem_chain("server-chain.pem"))
        self.assert_rejected(response, "NO_MATCHING_RULE", rule_name="")

    def test_server_certificate_garbage_der_names_the_index(self):
        chain = [self.pem_chain("server-chain.pem")[0], b"\x30\x03abc"]
        details = self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                                        self.judge_server_chain, "api.example.test", chain)
        self.assertTrue(details.startswith("certificate_chain[1]:"), details)

    def test_server_certificate_empty_chain(self):
        self.assert_rpc_error(grpc.StatusCode.INVALID_ARGUMENT,
                              self.judge_server_chain, "api.example.test", [])

    # --- gRPC health ---

    def test_health_check_reports_serving(self):
        health = load_health_messages()
        if health is None:
            self.skipTest("no grpc_health module and no grpc/health/v1/health.proto installed "
                          "(tried: " + ", ".join(map(str, HEALTH_PROTO_CANDIDATES)) + ")")
        check = self.unix_channel.unary_unary(
            HEALTH_CHECK_METHOD,
            request_serializer=health.HealthCheckRequest.SerializeToString,
            response_deserializer=health.HealthCheckResponse.FromString)
        for service in ("", BROKER_SERVICE):
            with self.subTest(service=service):
                response = check(health.HealthCheckRequest(service=service),
                                 timeout=RPC_TIMEOUT_SECONDS)
                self.assertEqual(response.status, health.HealthCheckResponse.SERVING)

    # --- certbroker_client.py ---

    def test_cli_policy_json(self):
        result = self.run_cli("-o", "json", "policy", "--host", "api.example.test")
        self.assertEqual(result.returncode, 0, result.stderr)
        policy = json.loads(result.stdout)
        self.assertEqual(policy["rule_name"], "example-test")
        self.assertEqual(policy["validation_mode"], "BROKER")
        self.assertIs(policy["override_automatic_check"], True)

    def test_cli_server_cert_accepts_good_chain(self):
        result = self.run_cli("server-cert", "--host", "api.example.test",
                              "--chain", str(self.pki / "server-chain.pem"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("reason: ACCEPTED", result.stdout)

    def test_cli_server_cert_rejects_untrusted_chain(self):
        result = self.run_cli("server-cert", "--host", "api.example.test",
                              "--chain", str(self.pki / "untrusted-server-chain.pem"))
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        self.assertIn("reason: INCOMPLETE_CHAIN", result.stdout)

    def test_cli_client_cert_writes_pem_files(self):
        chain_file = self.work_dir / "cli-chain.pem"
        key_file = self.work_dir / "cli-key.pem"
        result = self.run_cli("client-cert", "--host", "api.example.test",
                              "--out-chain", str(chain_file), "--out-key", str(key_file))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("certificate_id: dev-client", result.stdout)
        self.assertIn("certificates: 2", result.stdout)
        self.assertEqual(client.read_pem_certificates(chain_file),
                         self.pem_chain("client-chain.pem"))
        self.assertTrue(key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----\n"))
        self.assertEqual(key_file.stat().st_mode & 0o777, 0o600)

    def test_cli_rpc_error_exits_1(self):
        result = self.run_cli("client-cert", "--host", "other.invalid")
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        self.assertRegex(result.stderr, r"^error: PERMISSION_DENIED: no rule gives ")

    def test_cli_usage_error_exits_2(self):
        result = self.run_cli("server-cert", "--host", "api.example.test")  # No --chain.
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
