# syntax=docker/dockerfile:1

# Build: a static binary, no cgo.
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/nurture ./cmd/nurture

# Run: no shell, no package manager, a non-root user.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/nurture /nurture
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/nurture"]
