"""The production profile on one machine: PostgreSQL, Redis, nginx and two Rasa replicas."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot import PROJECT_ROOT
from bot.training import is_up_to_date, train
from tests.production.services import NginxServer, PostgresServer, RedisServer
from tests.stack import Stack, free_port

REPLICAS = ("rasa_a", "rasa_b")
# Turns on Rasa's HTTP API for live takeover (test_socketio_replicas.py).
RASA_API_TOKEN = "production-test-rasa-api-token-0123456789"
REPLICA_STARTUP_TIMEOUT_S = 600


class ProductionStack(Stack):
    postgres: PostgresServer
    redis: RedisServer
    nginx: NginxServer

    def replica_env(self, replica: str) -> dict[str, str]:
        return {"MESO_RASA_PORT": str(self.ports[replica])}

    def start_replica(self, replica: str) -> None:
        self.start(replica, serve="rasa", extra_env=self.replica_env(replica))
        self.wait_ready(replica, "/", timeout=REPLICA_STARTUP_TIMEOUT_S)


@pytest.fixture(scope="session")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProductionStack]:
    if not is_up_to_date(PROJECT_ROOT) and train(PROJECT_ROOT) != 0:
        pytest.fail("rasa train failed; run `make train` to see why")
    stack = ProductionStack(workdir=tmp_path_factory.mktemp("production"))
    stack.postgres, stack.redis = PostgresServer(), RedisServer()
    try:
        stack.postgres.start()
        stack.redis.start()
        stack.prepare()
        for replica in REPLICAS:
            stack.ports[replica] = free_port()
        # deploy/nginx.conf.template, in front of the replicas and the action server.
        stack.nginx = NginxServer(
            rasa=(stack.ports["rasa_a"], stack.ports["rasa_b"]),
            actions=(stack.ports["actions"], stack.ports["actions"]),
            web=stack.ports["web"],
            staff=stack.ports["staff"],
        )
        stack.nginx.start()
        pg = stack.postgres
        stack.env.update(
            {
                "MESO_ENDPOINTS": str(PROJECT_ROOT / "deploy" / "endpoints.production.yml"),
                # Rasa reaches the action server through nginx, as in docker-compose.yml.
                "MESO_ACTION_ENDPOINT_URL": f"{stack.nginx.actions_url}/webhook",
                "MESO_TRACKER_DB_HOST": "127.0.0.1",
                "MESO_TRACKER_DB_PORT": str(pg.port),
                "MESO_TRACKER_DB_NAME": "meso",
                "MESO_TRACKER_DB_USER": "meso",
                "MESO_TRACKER_DB_PASSWORD": "meso",
                "MESO_REDIS_HOST": "127.0.0.1",
                "MESO_REDIS_PORT": str(stack.redis.port),
                "MESO_RASA_API_TOKEN": RASA_API_TOKEN,
                "MESO_TRACKER_DB_URL": pg.url(),
                "MESO_APP_DB_URL": pg.url(),
                "MESO_FACTS_DB_URL": pg.url(),
            }
        )
        stack.build_fact_base()
        stack.start("actions")
        stack.start("staff")
        for replica in REPLICAS:
            stack.start(replica, serve="rasa", extra_env=stack.replica_env(replica))
        stack.wait_ready("actions", "/health")
        stack.wait_ready("staff", "/health")
        for replica in REPLICAS:
            # Two replicas load their models at once; on 2 busy cores that takes minutes.
            stack.wait_ready(replica, "/", timeout=REPLICA_STARTUP_TIMEOUT_S)
        yield stack
    finally:
        stack.stop_all()
        for server in ("nginx", "redis", "postgres"):
            if hasattr(stack, server):
                getattr(stack, server).stop()
