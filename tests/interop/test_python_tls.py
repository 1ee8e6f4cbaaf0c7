#!/usr/bin/python3
"""Interop test: a Python grpcio agent against a certbrokerd that enforces access.

Starts a real certbrokerd without the development flag, serving TLS with a
server chain from certbroker-devpki and requiring client certificates from
that PKI's root. From Python (grpc.ssl_channel_credentials): an agent with
the devpki client chain is served; one without a certificate cannot
connect; the agent cannot reach the admin API; an unmapped Unix-socket
peer is unauthenticated.

Run: /usr/bin/python3 tests/interop/test_python_tls.py
Environment: as test_python_client.py.
"""

import os
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import certbroker_client as client  # noqa: E402  (needs the path above)
from broker_daemon import BrokerDaemon, log_tail  # noqa: E402
from test_python_admin import DEVPKI, load_admin_api  # noqa: E402

RPC_TIMEOUT_SECONDS = 5

CONFIG = """\
trust_bundles:
  - {name: agents, pem_file: pki/ca.pem}
rules:
  - name: api
    match: {hosts: [api.example.test]}
    server_validation: {trust_bundles: [agents]}
access:
  tls:
    chain_pem_file: pki/server-chain.pem
    key_pem_file: pki/server.key
    client_ca_bundles: [agents]
"""


class PythonTlsInteropTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.broker_pb2, cls.broker_grpc, cls.admin_pb2, cls.admin_grpc = load_admin_api()
        cls.work = tempfile.TemporaryDirectory()
        work = Path(cls.work.name)
        subprocess.run([DEVPKI, "--out", str(work / "pki")], check=True,
                       stdout=subprocess.DEVNULL)
        (work / "config.yaml").write_text(CONFIG)
        cls.pki = work / "pki"
        cls.daemon = BrokerDaemon(work, ["--config", str(work / "config.yaml"),
                                         "--enable_admin"], dev_loopback=False)
        cls.daemon.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.daemon.stop_expecting_success()
        finally:
            cls.work.cleanup()

    def channel(self, with_client_certificate=True):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(self.pki / "ca.pem").read_bytes(),
            private_key=(self.pki / "client.key").read_bytes()
            if with_client_certificate else None,
            certificate_chain=(self.pki / "client-chain.pem").read_bytes()
            if with_client_certificate else None)
        return grpc.secure_channel(self.daemon.addresses[0], credentials,
                                   options=[("grpc.ssl_target_name_override", "localhost")])

    def policy(self, channel):
        stub = self.broker_grpc.CertificateBrokerStub(channel)
        request = self.broker_pb2.GetCertificatePolicyRequest(
            target=self.broker_pb2.Target(host="api.example.test"))
        return stub.GetCertificatePolicy(request, timeout=RPC_TIMEOUT_SECONDS)

    def test_agent_with_client_certificate_is_served(self):
        with self.channel() as channel:
            response = self.policy(channel)
        self.assertEqual(response.rule_name, "api", log_tail(self.daemon.log))

    def test_agent_without_client_certificate_cannot_connect(self):
        with self.channel(with_client_certificate=False) as channel:
            with self.assertRaises(grpc.RpcError) as raised:
                self.policy(channel)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_agent_cannot_reach_the_admin_api(self):
        with self.channel() as channel:
            stub = self.admin_grpc.CertificateAdminStub(channel)
            with self.assertRaises(grpc.RpcError) as raised:
                stub.GetStatus(self.admin_pb2.GetStatusRequest(),
                               timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("(roles AGENT) may not call GetStatus", raised.exception.details())

    def test_unmapped_unix_peer_is_unauthenticated(self):
        with grpc.insecure_channel(self.daemon.addresses[1]) as channel:
            with self.assertRaises(grpc.RpcError) as raised:
                self.policy(channel)
        self.assertEqual(raised.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn(f"(uid={os.getuid()} ", raised.exception.details())
        self.assertIn("is not named by access.unix_peers", raised.exception.details())


if __name__ == "__main__":
    unittest.main(verbosity=2)
