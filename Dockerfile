# One image for the API, the worker and (for trying the scaled mode without Intuit keys)
# qbo-sandbox. docs/operations.md explains how to run it; compose.yaml runs all of them.
#
#   docker build -t qbo-sync .
#   docker run … qbo-sync            # API   (node --import tsx apps/api/src/main.ts)
#   docker run … qbo-sync worker     # jobs  (node --import tsx apps/api/src/worker.ts)

# --- build: the admin page (Vite, a dev dependency) -------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/qbo-sandbox/package.json packages/qbo-sandbox/
COPY apps/api/package.json apps/api/
COPY apps/frontend/package.json apps/frontend/
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY . .
RUN npm run build -w apps/frontend

# --- runtime: production dependencies only, not root -----------------------------------
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    LOG_FORMAT=json \
    DATA_DIR=/data \
    PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contract/package.json packages/contract/
COPY packages/qbo-sandbox/package.json packages/qbo-sandbox/
COPY apps/api/package.json apps/api/
COPY apps/frontend/package.json apps/frontend/
# --ignore-scripts: `prepare` builds the admin page, which the build stage did already.
RUN npm ci --no-audit --no-fund --omit=dev --ignore-scripts && npm cache clean --force
COPY packages ./packages
COPY apps/api ./apps/api
COPY supabase ./supabase
COPY --from=build /app/apps/frontend/dist ./apps/frontend/dist
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
COPY --chmod=0755 scripts/docker-entry.sh /usr/local/bin/qbo-sync-entry
ENTRYPOINT ["qbo-sync-entry"]
CMD ["api"]
