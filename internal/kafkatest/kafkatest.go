// Package kafkatest runs real Apache Kafka brokers (KRaft mode, the Maven
// Central jars of scripts/kafka.sh) for integration tests: one broker for
// a round trip, three for failover. Fast unit tests use franz-go's kfake;
// both speak only the Kafka API that Redpanda implements too.
package kafkatest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	// EnvBrokers names a comma-separated list of running brokers to use
	// instead of starting one (e.g. 127.0.0.1:9092 after `make kafka`).
	EnvBrokers = "TICKCAST_KAFKA_BROKERS"
	// EnvRequire turns a missing Java or jars from a skip into a failure
	// (`make test` sets it); so does CI=true.
	EnvRequire = "TICKCAST_REQUIRE_SERVICES"

	startTimeout = 90 * time.Second
)

// Start returns the addresses of a single Kafka broker: those of
// $TICKCAST_KAFKA_BROKERS when set, else a fresh broker on free loopback
// ports that stops at cleanup.
func Start(tb testing.TB) (brokers []string) {
	tb.Helper()
	if env := envBrokers(); len(env) > 0 {
		return env
	}
	return StartCluster(tb, 1).Brokers
}

// Start3 returns three brokers of one cluster (each node broker and
// controller), so topics of replication factor 3 work: those of
// $TICKCAST_KAFKA_BROKERS when it lists three or more, else a fresh cluster.
func Start3(tb testing.TB) (brokers []string) {
	tb.Helper()
	if env := envBrokers(); len(env) >= 3 {
		return env
	}
	return StartCluster(tb, 3).Brokers
}

// Cluster is a KRaft cluster of n combined broker+controller nodes owned by
// one test. Its methods are meant for the test's goroutine.
type Cluster struct {
	// Brokers holds each node's PLAINTEXT address on loopback, by node.
	Brokers []string

	tb     testing.TB
	script string
	voters string
	nodes  []*node
}

type node struct {
	id, port, cport int
	dir             string
	cmd             *exec.Cmd
	exited          chan struct{}
}

// StartCluster starts n nodes in tb.TempDir() and waits until every broker
// is in the cluster's metadata. Without Java or the jars it skips tb, or
// fails it in CI or when $TICKCAST_REQUIRE_SERVICES is 1. In -short mode it
// skips: a JVM broker takes seconds.
func StartCluster(tb testing.TB, n int) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("kafkatest: a real Kafka broker takes seconds to start; not in -short mode")
	}
	script := findScript(tb)
	unavailable(tb, script)
	dir := tb.TempDir()
	c := &Cluster{tb: tb, script: script}
	tb.Cleanup(c.Stop)
	// Another process may take a free port between probe and bind: retry.
	for attempt := 1; ; attempt++ {
		err := c.start(dir, attempt, n)
		if err == nil {
			return c
		}
		c.Stop()
		if attempt == 3 {
			tb.Fatalf("start %d Kafka node(s): %v", n, err)
		}
	}
}

// Kill crashes node i (0-based, SIGKILL); its clients see it gone.
func (c *Cluster) Kill(i int) {
	c.tb.Helper()
	c.nodes[i].kill()
}

// Restart starts node i again on its ports and data, after Kill, and waits
// until the cluster's metadata lists every broker.
func (c *Cluster) Restart(i int) {
	c.tb.Helper()
	nd := c.nodes[i]
	nd.kill()
	if err := c.run(nd); err != nil {
		c.tb.Fatalf("restart Kafka node %d: %v", nd.id, err)
	}
	if err := c.waitBrokers(c.Brokers[i:i+1], len(c.nodes)); err != nil {
		c.tb.Fatalf("restart Kafka node %d: %v", nd.id, err)
	}
}

// Stop kills every node (the data is thrown away with the temp dir).
// Stopping a stopped cluster does nothing.
func (c *Cluster) Stop() {
	for _, nd := range c.nodes {
		nd.kill()
	}
}

func (c *Cluster) start(dir string, attempt, n int) error {
	ports, err := freePorts(2 * n)
	if err != nil {
		return err
	}
	c.nodes, c.Brokers = nil, nil
	voters := make([]string, n)
	for i := range n {
		nd := &node{id: i + 1, port: ports[2*i], cport: ports[2*i+1],
			dir: filepath.Join(dir, fmt.Sprintf("try%d-node%d", attempt, i+1))}
		c.nodes = append(c.nodes, nd)
		c.Brokers = append(c.Brokers, addr(nd.port))
		voters[i] = fmt.Sprintf("%d@%s", nd.id, addr(nd.cport))
	}
	c.voters = strings.Join(voters, ",")
	for _, nd := range c.nodes {
		if err := c.run(nd); err != nil {
			return err
		}
	}
	return c.waitBrokers(c.Brokers, n)
}

// run starts one node with `scripts/kafka.sh node`, which execs the JVM.
func (c *Cluster) run(nd *node) error {
	if err := os.MkdirAll(nd.dir, 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(nd.dir, "kafka.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(c.script, "node", nd.dir, strconv.Itoa(nd.id),
		strconv.Itoa(nd.port), strconv.Itoa(nd.cport), c.voters)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// C1 only: a test broker starts sooner and never runs long enough for C2 to pay
	cmd.Env = append(os.Environ(), "KAFKA_OPTS=-XX:TieredStopAtLevel=1 "+os.Getenv("KAFKA_OPTS"))
	// the JVM dies with the test binary, even when the binary is killed
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	nd.cmd, nd.exited = cmd, exited
	return nil
}

func (nd *node) kill() {
	if nd.cmd == nil {
		return
	}
	_ = nd.cmd.Process.Kill()
	<-nd.exited
	nd.cmd = nil
}

// waitBrokers polls a Metadata request on seeds until it lists n brokers.
func (c *Cluster) waitBrokers(seeds []string, n int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	deadline := time.Now().Add(startTimeout)
	for {
		err := c.exited()
		if err == nil {
			err = brokerCount(adm, n)
		}
		if err == nil {
			return nil
		}
		if errors.Is(err, errExited) || time.Now().After(deadline) {
			return fmt.Errorf("%w\n%s", err, c.logTails())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var errExited = errors.New("exited")

func (c *Cluster) exited() error {
	for _, nd := range c.nodes {
		if nd.cmd == nil {
			continue
		}
		select {
		case <-nd.exited:
			return fmt.Errorf("node %d %w before the cluster was ready", nd.id, errExited)
		default:
		}
	}
	return nil
}

func brokerCount(adm *kadm.Client, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	meta, err := adm.BrokerMetadata(ctx)
	if err != nil {
		return err
	}
	if len(meta.Brokers) < n {
		return fmt.Errorf("metadata lists %d of %d brokers", len(meta.Brokers), n)
	}
	return nil
}

func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, nd := range c.nodes {
		log, _ := os.ReadFile(filepath.Join(nd.dir, "kafka.log"))
		fmt.Fprintf(&b, "--- node %d (%s):\n%s\n", nd.id, nd.dir, tail(string(log), 1500))
	}
	return b.String()
}

// unavailable skips or fails tb when Java or the broker jars are missing.
func unavailable(tb testing.TB, script string) {
	tb.Helper()
	_, err := exec.LookPath("java")
	if err == nil {
		// cached after the first resolution; resolving needs Maven and Maven Central
		var out []byte
		if out, err = exec.Command(script, "classpath").CombinedOutput(); err != nil {
			err = fmt.Errorf("%s classpath: %w: %s", script, err, tail(string(out), 500))
		}
	}
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" || os.Getenv(EnvRequire) == "1" {
		tb.Fatalf("Kafka unavailable (%v) in CI or with %s=1: make kafka-jars", err, EnvRequire)
	}
	tb.Skipf("Kafka unavailable (%v): make kafka-jars installs Java 17 + Maven and resolves the jars", err)
}

// findScript walks up from the working directory (a package's, under go
// test) to the module root's scripts/kafka.sh.
func findScript(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "scripts", "kafka.sh")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("scripts/kafka.sh not found above the working directory")
		}
		dir = parent
	}
}

func envBrokers() []string {
	var out []string
	for b := range strings.SplitSeq(os.Getenv(EnvBrokers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
