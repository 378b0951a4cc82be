// A small app built with the Go SDK (github.com/inngest/inngestgo): the same functions run under
// `inngest dev` and under `inngest-serverless dev`, and tests/protocol/test_go_sdk_app.py compares the runs.
//
// Usage: go-app PORT EXECUTOR_URL   (prints "ready" once it listens on 127.0.0.1:PORT)
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/inngest/inngestgo"
	"github.com/inngest/inngestgo/group"
	"github.com/inngest/inngestgo/step"
)

type data = map[string]any

// attempts counts executions of the flaky step per run: the first one fails, so the executor
// must retry it (the process serves both executors' tests, hence the per-run key).
var (
	mu       sync.Mutex
	attempts = map[string]int{}
)

func bump(runID string) int {
	mu.Lock()
	defer mu.Unlock()
	attempts[runID]++
	return attempts[runID]
}

func must(_ inngestgo.ServableFunction, err error) {
	if err != nil {
		panic(err)
	}
}

func main() {
	port, executor := os.Args[1], os.Args[2]
	dev := true
	client, err := inngestgo.NewClient(inngestgo.ClientOpts{
		AppID:           "go-suite",
		Dev:             &dev,
		APIBaseURL:      &executor,
		EventAPIBaseURL: &executor,
		RegisterURL:     inngestgo.StrPtr(executor + "/fn/register"),
	})
	if err != nil {
		panic(err)
	}

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "steps"},
		inngestgo.EventTrigger("go/steps.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			first, err := step.Run(ctx, "first step", func(ctx context.Context) (string, error) {
				return "first step", nil
			})
			if err != nil {
				return nil, err
			}
			step.Sleep(ctx, "sleep", time.Second)
			second, err := step.Run(ctx, "second step", func(ctx context.Context) (data, error) {
				return data{"first": first, "second": true}, nil
			})
			if err != nil {
				return nil, err
			}
			return data{"name": in.Event.Name, "second": second}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "wait"},
		inngestgo.EventTrigger("go/wait.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			got, err := step.WaitForEvent[inngestgo.GenericEvent[data]](ctx, "wait", step.WaitForEventOpts{
				Event:   "go/resume",
				If:      inngestgo.StrPtr("async.data.id == event.data.id"),
				Timeout: time.Duration(in.Event.Data["timeout_ms"].(float64)) * time.Millisecond,
			})
			if err == step.ErrEventNotReceived {
				return data{"timed_out": true}, nil
			}
			if err != nil {
				return nil, err
			}
			return data{"result": got.Data}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "child", Retries: inngestgo.IntPtr(0)},
		inngestgo.EventTrigger("go/child.never", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			return data{"doubled": in.Event.Data["x"].(float64) * 2}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "invoke"},
		inngestgo.EventTrigger("go/invoke.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			child, err := step.Invoke[data](ctx, "call child", step.InvokeOpts{
				FunctionId: "go-suite-child",
				Data:       data{"x": in.Event.Data["x"]},
			})
			if err != nil {
				return nil, err
			}
			return data{"child": child}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "parallel"},
		inngestgo.EventTrigger("go/parallel.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			parts := []func(ctx context.Context) (any, error){}
			for i := 0; i < 3; i++ {
				n := i
				parts = append(parts, func(ctx context.Context) (any, error) {
					return step.Run(ctx, fmt.Sprintf("part %d", n), func(ctx context.Context) (int, error) {
						return n * 10, nil
					})
				})
			}
			results := group.Parallel(ctx, parts...)
			if err := results.AnyError(); err != nil {
				return nil, err
			}
			sum, err := step.Run(ctx, "after", func(ctx context.Context) (float64, error) {
				total := 0.0
				for _, r := range results {
					switch v := r.Value.(type) {
					case int:
						total += float64(v)
					case float64:
						total += v
					}
				}
				return total, nil
			})
			if err != nil {
				return nil, err
			}
			return data{"sum": sum}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{ID: "retry"},
		inngestgo.EventTrigger("go/retry.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			value, err := step.Run(ctx, "flaky", func(ctx context.Context) (string, error) {
				if bump(in.InputCtx.RunID) == 1 {
					return "", fmt.Errorf("broken")
				}
				return "yes: 2", nil
			})
			if err != nil {
				return nil, err
			}
			return data{"step": value, "attempt": in.InputCtx.Attempt}, nil
		}))

	must(inngestgo.CreateFunction(client, inngestgo.FunctionOpts{
		ID:          "limited",
		Concurrency: &inngestgo.ConfigConcurrency{Step: []inngestgo.ConfigStepConcurrency{{Limit: 1}}},
	},
		inngestgo.EventTrigger("go/limited.test", nil),
		func(ctx context.Context, in inngestgo.Input[data]) (any, error) {
			return step.Run(ctx, "work", func(ctx context.Context) (data, error) {
				start := time.Now().UnixMilli()
				time.Sleep(200 * time.Millisecond)
				return data{"n": in.Event.Data["n"], "start": start, "end": time.Now().UnixMilli()}, nil
			})
		}))

	listener, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	fmt.Println("ready")
	mux := http.NewServeMux()
	mux.Handle("/api/inngest", client.Serve())
	panic(http.Serve(listener, mux))
}
