#!/usr/bin/python3
"""Interop test: an operator's Python grpcio script against certbrokerd's admin API.

Starts a real certbrokerd that keeps its policy in a store (--data_dir,
--kek_file, --enable_admin), then, from Python only: imports a client
certificate, stores a trust bundle, puts a policy using both (with
optimistic concurrency), watches the audit log while doing so, and checks
that agents get the certificate and that a server chain named by its digest
is judged from the cache.

Run: /usr/bin/python3 tests/interop/test_python_admin.py
Environment: as test_python_client.py.
"""

import importlib
import os
import queue
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
from pathlib import Path

import grpc

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import certbroker_client as client  # noqa: E402  (needs the path above)
from broker_daemon import REPO_ROOT, BrokerDaemon  # noqa: E402

DEVPKI = os.environ.get("CERTBROKER_DEVPKI") or str(
    REPO_ROOT / "build/broker/devpki/certbroker-devpki")
ADMIN_PROTO = "certbroker/v1/admin.proto"
RPC_TIMEOUT_SECONDS = 5

POLICY = """\
rules:
  - name: payments
    match: { hosts: [api.example.test] }
    client_certificate: payments
    server_validation: { trust_bundles: [corp] }
"""


def load_admin_api():
    """Generates (if needed) and imports certbroker.v1's broker and admin modules."""
    generated = str(client.compile_protos(client.PROTO_ROOT,
                                          [client.BROKER_PROTO, ADMIN_PROTO],
                                          prefix="pyproto-admin"))
    if generated not in sys.path:
        sys.path.insert(0, generated)
    return (importlib.import_module("certbroker.v1.broker_pb2"),
            importlib.import_module("certbroker.v1.broker_pb2_grpc"),
            importlib.import_module("certbroker.v1.admin_pb2"),
            importlib.import_module("certbroker.v1.admin_pb2_grpc"))


class PythonAdminInteropTest(unittest.TestCase):
    """Drives the admin API of a live, store-backed certbrokerd from Python."""

    @classmethod
    def setUpClass(cls):
        cls.broker_pb, broker_grpc, cls.admin_pb, admin_grpc = load_admin_api()
        cls.work_dir = Path(tempfile.mkdtemp(prefix="certbroker-admin-interop-"))
        cls.addClassCleanup(shutil.rmtree, cls.work_dir, ignore_errors=True)
        cls.pki = cls.work_dir / "pki"
        subprocess.run([DEVPKI, "--out", str(cls.pki)], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        kek = cls.work_dir / "kek"
        kek.write_text(secrets.token_hex(32) + "\n")
        kek.chmod(0o600)
        cls.daemon = BrokerDaemon(cls.work_dir, [
            "--data_dir", str(cls.work_dir / "data"), "--kek_file", str(kek),
            "--enable_admin"])
        cls.addClassCleanup(cls.daemon.kill)
        cls.daemon.start()
        cls.channel = client.connect(f"unix:{cls.daemon.socket}")
        cls.addClassCleanup(cls.channel.close)
        cls.admin = admin_grpc.CertificateAdminStub(cls.channel)
        cls.broker = broker_grpc.CertificateBrokerStub(cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.daemon.stop_expecting_success()

    def read(self, name):
        return (self.pki / name).read_text()

    def test_operator_script_end_to_end(self):
        pb = self.admin_pb
        watched = queue.Queue()
        watch = self.admin.WatchAuditRecords(pb.WatchAuditRecordsRequest(verdict="changed"))

        def drain():
            try:
                for record in watch:
                    watched.put(record)
            except grpc.RpcError:
                pass  # Cancelled at the end of the test.

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        self.addCleanup(watch.cancel)

        imported = self.admin.ImportCertificate(pb.ImportCertificateRequest(
            certificate_id="payments",
            pem=pb.PemMaterial(chain_pem=self.read("client-chain.pem"),
                               key_pem=self.read("client.key")),
            labels={"team": "payments"}, exportable=True), timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(imported.name, "certificates/payments")
        self.assertEqual(imported.key_type, "EC P-256")
        self.assertEqual(len(imported.sha256_fingerprint), 64)

        self.admin.UpdateTrustBundle(pb.UpdateTrustBundleRequest(
            trust_bundle=pb.TrustBundle(name="trustBundles/corp",
                                        certificates_pem=self.read("ca.pem")),
            allow_missing=True), timeout=RPC_TIMEOUT_SECONDS)

        current = self.admin.GetPolicy(pb.GetPolicyRequest(), timeout=RPC_TIMEOUT_SECONDS)
        with self.assertRaises(grpc.RpcError) as stale:
            self.admin.UpdatePolicy(pb.UpdatePolicyRequest(
                policy=pb.Policy(document=POLICY), expected_version=current.version - 1),
                timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(stale.exception.code(), grpc.StatusCode.ABORTED)
        put = self.admin.UpdatePolicy(pb.UpdatePolicyRequest(
            policy=pb.Policy(document=POLICY), expected_version=current.version),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(put.version, current.version + 1)

        # Agents see it at once.
        target = self.broker_pb.Target(host="api.example.test")
        given = self.broker.GetClientCertificate(
            self.broker_pb.GetClientCertificateRequest(target=target),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(given.certificate_id, "payments")
        self.assertEqual(given.policy_version, str(put.version))
        self.assertTrue(given.private_key)

        chain = client.read_pem_certificates(self.pki / "server-chain.pem")
        first = self.broker.OnServerCertificate(self.broker_pb.OnServerCertificateRequest(
            target=target, certificate_chain=chain), timeout=RPC_TIMEOUT_SECONDS)
        self.assertTrue(first.accepted, first.detail)
        again = self.broker.OnServerCertificate(self.broker_pb.OnServerCertificateRequest(
            target=target, certificate_chain_sha256=first.certificate_chain_sha256),
            timeout=RPC_TIMEOUT_SECONDS)
        self.assertTrue(again.accepted, again.detail)
        self.assertEqual(again.detail, first.detail)

        rpcs = [watched.get(timeout=RPC_TIMEOUT_SECONDS).rpc for _ in range(3)]
        self.assertEqual(rpcs, ["ImportCertificate", "UpdateTrustBundle", "UpdatePolicy"])

        status = self.admin.GetStatus(self.admin_pb.GetStatusRequest(),
                                      timeout=RPC_TIMEOUT_SECONDS)
        self.assertEqual(status.policy_version, str(put.version))
        self.assertEqual(status.certificate_count, 1)
        self.assertTrue(status.store_healthy)


if __name__ == "__main__":
    unittest.main()
