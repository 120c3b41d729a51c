FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server ./server
COPY plugins ./plugins
COPY config ./config
RUN pip install --no-cache-dir .
ENV TALLY_MONGO_URL=mongodb://mongo:27017/tally
EXPOSE 8080
USER nobody
CMD ["python", "-m", "server", "--host", "0.0.0.0", "--port", "8080"]
