package weaviate

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/weaviate/weaviate/entities/models"
	pb "github.com/weaviate/weaviate/grpc/generated/protocol/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"
)

// grpcBatcher writes batches through Weaviate's gRPC API with the protocol
// types Weaviate publishes. The client library's own gRPC path is not used:
// it skips certificate verification on TLS and offers no way to close its
// connection.
type grpcBatcher struct {
	conn   *grpc.ClientConn
	client pb.WeaviateClient
	auth   string // the authorization header value, or ""
}

// dialGRPC prepares a connection to addr (host:port). Nothing is sent until
// the first batch, so an unreachable Weaviate shows up as a failed delivery,
// which is retried, rather than as a gateway that cannot start.
func dialGRPC(addr string, useTLS bool, apiKey string) (*grpcBatcher, error) {
	creds := insecure.NewCredentials()
	if useTLS {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(creds),
		// gRPC waits up to two minutes between reconnection attempts by
		// default; a restarted Weaviate should get deliveries back within
		// seconds.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
		// A batch waits, within its deadline, for the connection to come
		// up instead of failing at once while it reconnects: the first
		// delivery after Weaviate returns then succeeds.
		grpc.WithDefaultCallOptions(grpc.WaitForReady(true)),
	)
	if err != nil {
		return nil, fmt.Errorf("weaviate: gRPC address %q: %w", addr, err)
	}
	g := &grpcBatcher{conn: conn, client: pb.NewWeaviateClient(conn)}
	if apiKey != "" {
		g.auth = "Bearer " + apiKey
	}
	return g, nil
}

func (g *grpcBatcher) close() error { return g.conn.Close() }

// batch sends one BatchObjects request. Objects Weaviate refused come back
// as failures; err is for the request as a whole.
func (g *grpcBatcher) batch(ctx context.Context, objects []*models.Object) ([]objectError, error) {
	req := &pb.BatchObjectsRequest{Objects: make([]*pb.BatchObject, len(objects))}
	for i, o := range objects {
		props, err := structpb.NewStruct(o.Properties.(map[string]any))
		if err != nil {
			return nil, fmt.Errorf("encode object %s: %w", o.ID, err)
		}
		bo := &pb.BatchObject{
			Uuid:       string(o.ID),
			Collection: o.Class,
			Tenant:     o.Tenant,
			Properties: &pb.BatchObject_Properties{NonRefProperties: props},
		}
		if len(o.Vector) > 0 {
			bo.VectorBytes = vectorBytes(o.Vector)
		}
		req.Objects[i] = bo
	}
	if g.auth != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", g.auth)
	}
	reply, err := g.client.BatchObjects(ctx, req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			// Said as the context's error, so callers can tell a timeout
			// with errors.Is, as they can on the REST path.
			return nil, fmt.Errorf("gRPC batch: %w", ctxErr)
		}
		return nil, fmt.Errorf("gRPC batch: %w", err)
	}
	var failures []objectError
	for _, e := range reply.GetErrors() {
		f := objectError{msg: e.GetError()}
		if i := int(e.GetIndex()); i >= 0 && i < len(objects) {
			f.id = string(objects[i].ID)
		}
		failures = append(failures, f)
	}
	return failures, nil
}

// vectorBytes is the wire form of a vector: float32s, little-endian.
func vectorBytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}
