# Kumo build helpers. Plain `go build ./...` needs none of this: generated
# code is committed.

.PHONY: proto
# Regenerate proto/kumo/v1 from its .proto files. Needs protoc (Debian:
# apt-get install protobuf-compiler); the Go plugins are pinned as tools in
# go.mod and run with `go tool`.
proto:
	protoc -I . \
		--plugin=protoc-gen-go="$$(go tool -n protoc-gen-go)" \
		--plugin=protoc-gen-connect-go="$$(go tool -n protoc-gen-connect-go)" \
		--go_out=. --go_opt=paths=source_relative \
		--connect-go_out=. --connect-go_opt=paths=source_relative \
		proto/kumo/v1/*.proto
