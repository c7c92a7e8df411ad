package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	readLimit = 4 << 10 // client messages are small requests
	// closeWait bounds how long a closing writer waits for the client to
	// answer its close frame before dropping the TCP connection.
	closeWait = time.Second
)

// client is one connection: the session goroutine (ServeHTTP's) reads
// requests and a writer goroutine sends every frame, as gorilla allows
// one reader and one writer.
type client struct {
	h    *Hub
	ws   *websocket.Conn
	log  *slog.Logger
	send chan *websocket.PreparedMessage // predictions, filled by Publish
	ctrl chan []byte                     // replies to requests, filled by the reader

	quit      chan struct{} // closed by end: the writer says goodbye and closes
	once      sync.Once
	closeCode int // set before quit closes; 0: no close frame (peer gone)
	closeText string
	readDone  chan struct{}

	// Guarded by h.mu.
	all   bool
	pairs []string
}

func newClient(h *Hub, ws *websocket.Conn) *client {
	return &client{h: h, ws: ws, log: h.log.With("remote", ws.RemoteAddr().String()),
		send: make(chan *websocket.PreparedMessage, h.cfg.SendBuffer), ctrl: make(chan []byte, 8),
		quit: make(chan struct{}), readDone: make(chan struct{})}
}

// offer queues pm without blocking; a full queue drops the client.
func (c *client) offer(pm *websocket.PreparedMessage) {
	select {
	case c.send <- pm:
	default:
		if c.end(websocket.ClosePolicyViolation, "too slow") {
			c.h.dropped.Add(1)
		}
	}
}

// end asks the writer to close the connection with code (0: silently);
// true for the call that did it.
func (c *client) end(code int, text string) bool {
	first := false
	c.once.Do(func() {
		c.closeCode, c.closeText = code, text
		close(c.quit)
		first = true
	})
	return first
}

// serve runs the session until either side ends it.
func (c *client) serve(pairs []string) {
	if !c.h.register(c, pairs) {
		c.end(websocket.CloseGoingAway, "server shutting down")
	}
	defer c.h.unregister(c)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop(encodeSubscribed(len(pairs) == 0, pairs))
	}()
	c.readLoop()
	close(c.readDone)
	c.end(0, "")
	<-writerDone
}

func (c *client) readLoop() {
	pongWait := 2 * c.h.cfg.PingInterval
	c.ws.SetReadLimit(readLimit)
	_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error { return c.ws.SetReadDeadline(time.Now().Add(pongWait)) })
	for {
		typ, b, err := c.ws.ReadMessage()
		if err != nil {
			c.log.Debug("stream: read ended", "err", err)
			return
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		select {
		case c.ctrl <- c.handle(typ, b):
		case <-c.quit:
			return
		}
	}
}

// handle answers one client message: a subscribed frame or an error frame.
func (c *client) handle(typ int, b []byte) []byte {
	if typ != websocket.TextMessage {
		return encodeError("bad_request", "send JSON text frames, not binary")
	}
	req, err := decodeRequest(b)
	if err != nil {
		return encodeError("bad_request", err.Error())
	}
	return c.h.apply(c, req)
}

func decodeRequest(b []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(b, &req); err != nil {
		return req, fmt.Errorf(`want {"action":"subscribe"|"unsubscribe","pairs":[...]}: %w`, err)
	}
	if req.Action != ActionSubscribe && req.Action != ActionUnsubscribe {
		return req, fmt.Errorf(`unknown action %q: want "subscribe" or "unsubscribe"`, req.Action)
	}
	return req, nil
}

func (c *client) writeLoop(first []byte) {
	defer c.ws.Close()
	ping := time.NewTicker(c.h.cfg.PingInterval)
	defer ping.Stop()
	err := c.write(websocket.TextMessage, first)
	for err == nil {
		select {
		case <-c.quit:
			c.goodbye()
			return
		default:
		}
		select {
		case <-c.quit:
			c.goodbye()
			return
		case b := <-c.ctrl:
			err = c.write(websocket.TextMessage, b)
		case pm := <-c.send:
			err = c.writePrepared(pm)
		case <-ping.C:
			err = c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.h.cfg.WriteTimeout))
		}
	}
	if !errors.Is(err, websocket.ErrCloseSent) {
		c.log.Debug("stream: write failed", "err", err)
	}
	c.end(0, "")
}

// goodbye sends the close frame (if any) and waits briefly for the
// client's answer, so the frame is not lost to a reset.
func (c *client) goodbye() {
	if c.closeCode == 0 {
		return
	}
	level := slog.LevelDebug
	if c.closeCode == websocket.ClosePolicyViolation {
		level = slog.LevelWarn
	}
	c.log.Log(context.Background(), level, "stream: closing client", "code", c.closeCode, "reason", c.closeText)
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	if err := c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait)); err != nil {
		return
	}
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-c.readDone:
	case <-t.C:
	}
}

func (c *client) write(typ int, b []byte) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout)); err != nil {
		return err
	}
	return c.ws.WriteMessage(typ, b)
}

func (c *client) writePrepared(pm *websocket.PreparedMessage) error {
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout)); err != nil {
		return err
	}
	return c.ws.WritePreparedMessage(pm)
}
