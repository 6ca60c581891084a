package flight

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/session"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Partial results come from the call's header, else from the session
// cookie, else they are off.
func TestPartialResults(t *testing.T) {
	cookie := func(v any) string {
		val, err := flight.NewSessionOptionValue(v)
		if err != nil {
			t.Fatal(err)
		}
		sess := session.NewStatelessServerSession(map[string]*flight.SessionOptionValue{PartialResultsOption: &val})
		c, err := session.CreateCookieForSession(sess)
		if err != nil {
			t.Fatal(err)
		}
		return c.String()
	}
	tests := []struct {
		name string
		md   []string
		want bool
		code codes.Code
	}{
		{"nothing", nil, false, codes.OK},
		{"header_true", []string{PartialResultsHeader, "true"}, true, codes.OK},
		{"header_false_over_cookie", []string{PartialResultsHeader, "false", "cookie", cookie(true)}, false, codes.OK},
		{"header_not_a_bool", []string{PartialResultsHeader, "sometimes"}, false, codes.InvalidArgument},
		{"cookie_bool", []string{"cookie", cookie(true)}, true, codes.OK},
		{"cookie_string", []string{"cookie", cookie("true")}, true, codes.OK},
		{"cookie_false", []string{"cookie", cookie(false)}, false, codes.OK},
		{"cookie_unreadable", []string{"cookie", session.StatelessSessionCookieName + "=!!"}, false, codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.md != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs(tc.md...))
			}
			got, err := partialResults(ctx)
			if status.Code(err) != tc.code || got != tc.want {
				t.Fatalf("partialResults = %v, %v; want %v, %s", got, err, tc.want, tc.code)
			}
		})
	}
}
