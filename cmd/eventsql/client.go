package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// postToServer sends body to a running server's path (POST, basic auth)
// and decodes its JSON answer into a T. size is the body's length, -1 when
// unknown (sent chunked). An answer other than 200 is an error with the
// server's code and message; the T decoded from it is returned too, as it
// may hold partial results (an import's lines written before a failure).
func postToServer[T any](ctx context.Context, server, path, user, password, contentType string, body io.Reader, size int64) (T, error) {
	var out T
	url := strings.TrimRight(server, "/") + path
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, io.NopCloser(body))
	if err != nil {
		return out, fmt.Errorf("--server %q: %w", server, err)
	}
	req.ContentLength = size
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return out, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		return out, fmt.Errorf("POST %s: reading the answer: %w", url, err)
	}
	if err := json.Unmarshal(answer, &out); err != nil {
		return out, fmt.Errorf("POST %s: %s: answer is not JSON: %.200q", url, resp.Status, answer)
	}
	if resp.StatusCode != http.StatusOK {
		var apiErr struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(answer, &apiErr)
		return out, fmt.Errorf("server answered %s: %s: %s", resp.Status, apiErr.Error, apiErr.Message)
	}
	return out, nil
}
